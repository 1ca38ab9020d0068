"""Task classifiers: the protocol, the cascade, and the factory the router calls.

``default_classifier(profile)`` builds the full cascade (rules and language ID, then
an embedding kNN over example utterances where the rules are unsure) from the
profile's ``classifier:`` section and its routes. The keys it reads, with defaults,
are listed in :mod:`qwen_router.classify.config`:

``min_confidence`` (0.5), ``rules_accept`` (0.9), ``embedding`` (true),
``embedding_model`` ("multilingual-e5-small"), ``embedding_top_k`` (3),
``embedding_temperature`` (0.03), ``rule_weight`` (0.5), ``evidence_baseline``
(3.0), ``evidence_scale`` (1.0), ``math_label_min`` (3.0), ``lang_min_confidence``
(0.8), ``english_words_min`` (0.25), ``max_chars`` (20000), ``judge_model``
(none: the LLM judge is off), ``judge_below`` (0.6), ``judge_weight`` (1.0),
``judge_max_tokens`` (64), ``judge_timeout_s`` (30.0), ``calibration``
({stage: [a, b]}).

Routes the profile adds (``description`` and ``utterances``) become classes of the
embedding stage without code changes. ``classifier.name`` picks a registered
classifier (:mod:`qwen_router.classify.registry`; ``cascade`` by default, ``rules``
for the model-free first stage). Nothing heavy is imported here: py3langid and the
encoder load on first use.
"""

from __future__ import annotations

from typing import Any

from .base import Classifier
from .cascade import CascadeClassifier, Explained
from .config import CascadeConfig
from .judge import LLMJudge
from .registry import (
    ENTRY_POINT_GROUP,
    classifier_factory,
    classifier_names,
    register_classifier,
)
from .session import SessionStore

__all__ = [
    "ENTRY_POINT_GROUP",
    "CascadeClassifier",
    "CascadeConfig",
    "Classifier",
    "Explained",
    "LLMJudge",
    "RuleClassifier",
    "SessionStore",
    "classifier_names",
    "default_classifier",
    "register_classifier",
]


class RuleClassifier(CascadeClassifier):
    """The first stage alone (structure, rules, language ID): no models, ~1 ms."""

    def __init__(
        self, config: CascadeConfig | None = None, *, routes: Any = None
    ) -> None:
        base = config or CascadeConfig()
        super().__init__(
            base.model_copy(update={"embedding": False, "judge_model": None}),
            routes=routes,
        )


def _section(prof: Any) -> dict[str, Any]:
    section = prof.classifier
    data = section.model_dump() if hasattr(section, "model_dump") else dict(section or {})
    data.pop("name", None)
    return data


def cascade_from_profile(prof: Any) -> CascadeClassifier:
    """The full cascade configured from a loaded profile (registered as ``cascade``).

    Raises:
        ConfigError: the ``classifier`` section has an unknown key, a value out of
            range or a malformed ``judge_model``.
    """
    from qwen_router.profiles import parse_model_spec

    config = CascadeConfig.from_section(_section(prof))
    options = None
    if config.judge_model:
        options = prof.backends.get(parse_model_spec(config.judge_model).backend, {})
    return CascadeClassifier(config, routes=prof.routes, judge_options=options)


def rules_from_profile(prof: Any) -> RuleClassifier:
    """The cascade's first stage only (registered as ``rules``).

    Raises:
        ConfigError: the ``classifier`` section is invalid.
    """
    return RuleClassifier(CascadeConfig.from_section(_section(prof)), routes=prof.routes)


register_classifier("cascade", cascade_from_profile, replace=True)
register_classifier("rules", rules_from_profile, replace=True)


def default_classifier(profile: Any | None = None) -> Classifier:
    """The classifier the profile names (``classifier.name``, default ``cascade``),
    built from the profile (``None``: the shipped ``local``).

    Raises:
        ConfigError: an unknown classifier name, an invalid ``classifier`` section,
            or a profile that cannot be loaded.
    """
    from qwen_router.profiles import load_profile

    prof = load_profile(profile)
    section = prof.classifier
    name = getattr(section, "name", None)
    if name is None and isinstance(section, dict):
        name = section.get("name")
    return classifier_factory(str(name or "cascade"))(prof)

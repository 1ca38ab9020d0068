"""Turning stage outputs into a :class:`RouteDecision`: labels, route, calibrated
confidence, signals, difficulty.

Each decision is scaled with one calibration key: ``rules``, ``embedding``, ``llm``
(the stage that produced the domain probabilities), ``language`` (non-English text),
``conversation`` (a route inherited from the previous turn), or ``structure``
(images / unreadable input, fixed). ``calibration[key] = [a, b]`` maps a raw
probability ``p`` to ``sigmoid(a * logit(p) + b)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qwen_router.types import RouteDecision

from .config import CascadeConfig
from .difficulty import estimate_difficulty
from .language import LangResult
from .rules import Evidence
from .text import Extracted

__all__ = [
    "Explained",
    "Pending",
    "assemble",
    "calibrate",
    "fallback",
    "inherit",
    "structural",
]

_DOMAINS = ("general", "code", "math")
_READABLE = re.compile(r"[\w\s.,;:!?'\"()\[\]{}<>=+\-*/\\$%&#@^|~`]")
_INHERITED_P = 0.95


@dataclass
class Explained:
    """A decision with what produced it: the stage's raw probability, the
    calibration key it was scaled with, and milliseconds per stage."""

    decision: RouteDecision
    raw: float
    key: str
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Pending:
    """Stage one's findings, waiting for the model stages (or not)."""

    ex: Extracted
    lang: LangResult
    evidence: Evidence
    request: str | None
    probs: dict[str, float]
    non_english: bool
    needs_embedding: bool
    timings: dict[str, float]
    triggered: list[str]
    sims: dict[str, float] | None = None
    judged: tuple[dict[str, float] | None, str] | None = None


def calibrate(calibration: Mapping[str, Sequence[float]], key: str, p: float) -> float:
    """Platt-scaled ``p`` for calibration ``key`` (identity when the key is absent)."""
    a, b = calibration.get(key, (1.0, 0.0))
    p = min(max(p, 1e-6), 1 - 1e-6)
    z = a * math.log(p / (1 - p)) + b
    return round(1 / (1 + math.exp(-max(-50.0, min(50.0, z)))), 4)


def fallback(reason: str, *, extra: Sequence[str] = ()) -> RouteDecision:
    return RouteDecision(
        route="general", confidence=0.0, scores={"general": 1.0}, labels=["general"],
        lang=None, signals=[*extra, f"fell back to general: {reason}"], stage="rules",
        difficulty=0.0,
    )  # fmt: skip


def structural(ex: Extracted) -> RouteDecision | None:
    """Decisions that need no text analysis: images without text, empty or
    unreadable text."""
    text = ex.text.strip()
    capped = [
        f"text capped at {len(ex.text)} of {ex.original_chars} chars"
    ] * ex.truncated
    if not text:
        if ex.n_images:
            return RouteDecision(
                route="vision", confidence=0.99, scores={"vision": 1.0},
                labels=["vision"], lang=None, stage="rules", difficulty=0.2,
                signals=[f"vision: {ex.n_images} image part(s), no text"],
            )  # fmt: skip
        return fallback("empty text: nothing to classify")
    head = text[:4000]
    if not any(map(str.isalnum, head)):
        return fallback("no letters or digits to classify (only symbols)")
    readable = len(_READABLE.findall(head)) / len(head)
    letters = sum(map(str.isalpha, head))
    if ex.printable_share < 0.8 or (readable < 0.5 and letters < 0.3 * len(head)):
        return fallback(
            f"unreadable text (printable {ex.printable_share:.0%}, "
            f"readable {readable:.0%}): looks like binary data", extra=capped,
        )  # fmt: skip
    return None


def _scores(pending: Pending, probs: Mapping[str, float]) -> dict[str, float]:
    scores = {k: round(v, 4) for k, v in probs.items()}
    scores["multilingual"] = round(
        max(scores.get("multilingual", 0.0), 1 - pending.lang.p_english), 4
    )
    scores["vision"] = 1.0 if pending.ex.n_images else 0.0
    return scores


def _language_labels(pending: Pending, signals: list[str]) -> list[str]:
    labels: list[str] = []
    if pending.ex.n_images:
        labels.append("vision")
        signals.append(f"vision: {pending.ex.n_images} image part(s)")
    if pending.non_english:
        signals.append(
            f"multilingual: language {pending.lang.lang} ({pending.lang.reason})"
        )
    if pending.request:
        signals.append(f"multilingual: language request {pending.request[:60]!r}")
    if pending.non_english or pending.request:
        labels.append("multilingual")
    return labels


def assemble(
    pending: Pending,
    probs: dict[str, float],
    stage: str,
    notes: Sequence[str],
    cfg: CascadeConfig,
) -> Explained:
    """The decision from domain probabilities of ``stage`` and stage one's labels."""
    ex, lang, evidence = pending.ex, pending.lang, pending.evidence
    signals = [*evidence.reasons, *notes]
    best = max(probs, key=probs.__getitem__)
    labels = _language_labels(pending, signals)
    if best == "multilingual" and "multilingual" not in labels:
        labels.append("multilingual")
    if best not in ("general", "multilingual"):
        labels.append(best)
    elif pending.non_english or ex.n_images:
        labels += [
            d for d in ("math", "code") if evidence.scores()[d] >= cfg.math_label_min
        ]
    key, raw = stage, probs[best]
    if ex.n_images:
        route, key, raw = "vision", "structure", 0.99
    elif pending.non_english:
        route, key, raw = "multilingual", "language", 1 - lang.p_english
    elif pending.request:
        route, key, raw = "multilingual", "language", max(raw, 0.9)
    else:
        route = best
    confidence = 0.99 if key == "structure" else calibrate(cfg.calibration, key, raw)
    if ex.truncated:
        signals.append(f"text capped at {len(ex.text)} of {ex.original_chars} chars")
    if confidence < cfg.min_confidence and route != "general":
        signals.append(
            f"fell back to general: confidence {confidence:.2f} for {route} "
            f"is below min_confidence {cfg.min_confidence:.2f}"
        )
        route = "general"
    domain = next((x for x in labels if x in _DOMAINS), best)
    decision = RouteDecision(
        route=route, confidence=confidence, scores=_scores(pending, probs),
        labels=labels or [route], lang=lang.lang,
        signals=signals or [f"no rule fired: {route}"], stage=stage,
        difficulty=estimate_difficulty(ex.text, evidence, domain),
    )  # fmt: skip
    return Explained(decision, raw, key)


def inherit(
    pending: Pending,
    probs: dict[str, float],
    route: str,
    source: str,
    cfg: CascadeConfig,
    *,
    tool: bool = False,
) -> Explained:
    """The previous route, kept: a tool loop, or a follow-up that names no other."""
    signals = [*pending.evidence.reasons]
    labels = _language_labels(pending, signals)
    why = "tool loop: stays on" if tool else "follow-up: inherits"
    signals.append(f"{why} {route} ({source} route of the previous turn)")
    if route not in labels:
        labels.append(route)
    confidence = calibrate(cfg.calibration, "conversation", _INHERITED_P)
    domain = route if route in _DOMAINS else "general"
    decision = RouteDecision(
        route=route, confidence=confidence, scores=_scores(pending, probs),
        labels=labels, lang=pending.lang.lang, signals=signals, stage="conversation",
        difficulty=estimate_difficulty(pending.ex.text, pending.evidence, domain),
    )  # fmt: skip
    return Explained(decision, _INHERITED_P, "conversation")

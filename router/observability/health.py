"""Health levels per ``backend:model``, judged on a bounded window of recent calls.

:class:`HealthMonitor` keeps the last ``window`` calls of each model (younger than
``max_age_s``; at most ``max_models`` models, least recently called dropped first).
:func:`judge` compares one model's window, and the dispatcher's cooldown, with the
profile's :class:`~.thresholds.HealthThresholds` and returns a :class:`ModelHealth`:
``healthy``, ``degraded`` or ``unhealthy``, with a finding (value, threshold, reason
and recommendation) per check that is not healthy.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from .resources import mib
from .thresholds import Ceiling, Floor, HealthThresholds

__all__ = [
    "LEVELS",
    "CallSample",
    "Finding",
    "HealthMonitor",
    "Level",
    "ModelHealth",
    "judge",
    "worst",
]

Level = Literal["healthy", "degraded", "unhealthy"]
LEVELS: tuple[Level, ...] = ("healthy", "degraded", "unhealthy")

_ADVICE = {
    "p95_latency": "answers are slow: lower the backend's concurrency, move this route "
    "to a smaller or quantized model, or give the model a GPU",
    "tokens_per_s": "generation is below the tokens/s floor: use a GPU, a smaller or "
    "quantized model, or fewer concurrent requests",
    "rss_peak": "the process is near its memory ceiling: use a smaller or quantized "
    "model, a smaller context (num_ctx), or fewer concurrent requests",
    "cuda_peak": "GPU memory is near its ceiling: use a smaller or quantized model, a "
    "smaller context, or fewer concurrent requests",
    "error_rate": "calls are failing: check that the backend is running and reachable, "
    "and its logs",
    "cooldown": "requests skip this model until the cooldown ends (fallbacks answer "
    "meanwhile): fix the backend; the next call after the cooldown probes it",
}


def worst(levels: Sequence[Level]) -> Level:
    """The most severe of ``levels`` (``healthy`` for none)."""
    return max(levels, key=LEVELS.index, default="healthy")


@dataclass(frozen=True)
class CallSample:
    """One finished backend call (``ok=False``: it failed)."""

    at: float
    ok: bool
    latency_s: float
    tokens_per_s: float | None = None
    rss_peak_bytes: int | None = None
    cuda_peak_bytes: int | None = None
    error: str | None = None


class Finding(BaseModel):
    check: str
    level: Level
    value: float
    threshold: float
    reason: str
    recommendation: str


class ModelHealth(BaseModel):
    """One ``backend:model``'s level, what it was judged on, and why."""

    model: str
    backend: str
    routes: list[str] = Field(default_factory=list)
    level: Level = "healthy"
    reason: str = ""
    recommendation: str = ""
    calls: int = 0
    errors: int = 0
    error_rate: float | None = None
    p95_latency_s: float | None = None
    tokens_per_s: float | None = None
    rss_peak_mb: float | None = None
    cuda_peak_mb: float | None = None
    cooldown_s: float | None = None
    last_error: str | None = None
    findings: list[Finding] = Field(default_factory=list)


class HealthMonitor:
    """Recent calls per ``backend:model``; thread-safe, bounded in calls and models."""

    def __init__(
        self,
        thresholds: HealthThresholds | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.thresholds = thresholds or HealthThresholds()
        self.clock = clock
        self._lock = threading.Lock()
        self._calls: OrderedDict[str, deque[CallSample]] = OrderedDict()

    def record(self, model: str, sample: CallSample) -> None:
        with self._lock:
            calls = self._calls.get(model)
            if calls is None:
                calls = self._calls[model] = deque(maxlen=self.thresholds.window)
                while len(self._calls) > self.thresholds.max_models:
                    self._calls.popitem(last=False)
            else:
                self._calls.move_to_end(model)
            calls.append(sample)

    def samples(self, model: str) -> list[CallSample]:
        """The model's calls still in the window (oldest first)."""
        max_age = self.thresholds.max_age_s
        cutoff = self.clock() - max_age if max_age else -math.inf
        with self._lock:
            return [s for s in self._calls.get(model, ()) if s.at >= cutoff]

    def models(self) -> list[str]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _ceiling(
    check: str, value: float, limit: Ceiling, unit: str, what: str
) -> Finding | None:
    for level, bound in (("unhealthy", limit.unhealthy), ("degraded", limit.degraded)):
        if bound is not None and value >= bound:
            return Finding(
                check=check,
                level=level,  # type: ignore[arg-type]
                value=round(value, 3),
                threshold=bound,
                reason=f"{what} {value:.3g}{unit} is at or above the {level} "
                f"threshold of {bound:g}{unit}",
                recommendation=_ADVICE[check],
            )
    return None


def _floor(
    check: str, value: float, limit: Floor, unit: str, what: str
) -> Finding | None:
    for level, bound in (("unhealthy", limit.unhealthy), ("degraded", limit.degraded)):
        if bound is not None and value <= bound:
            return Finding(
                check=check,
                level=level,  # type: ignore[arg-type]
                value=round(value, 3),
                threshold=bound,
                reason=f"{what} {value:.3g}{unit} is at or below the {level} "
                f"floor of {bound:g}{unit}",
                recommendation=_ADVICE[check],
            )
    return None


def judge(
    model: str,
    samples: Sequence[CallSample],
    thresholds: HealthThresholds,
    *,
    cooldown_s: float | None = None,
    routes: Sequence[str] = (),
) -> ModelHealth:
    """The level of ``model`` from its recent ``samples`` and cooldown."""
    ok = [s for s in samples if s.ok]
    failed = [s for s in samples if not s.ok]
    health = ModelHealth(
        model=model,
        backend=model.split(":", 1)[0],
        routes=list(routes),
        calls=len(samples),
        errors=len(failed),
        cooldown_s=round(cooldown_s, 1) if cooldown_s else None,
        last_error=failed[-1].error if failed else None,
    )
    findings: list[Finding | None] = []
    if cooldown_s:
        findings.append(
            Finding(
                check="cooldown",
                level="unhealthy",
                value=round(cooldown_s, 1),
                threshold=0,
                reason=f"cooling down for {cooldown_s:.0f}s more after repeated "
                "failures"
                + (f" (last: {health.last_error})" if health.last_error else ""),
                recommendation=_ADVICE["cooldown"],
            )
        )
    enough = thresholds.min_calls
    if samples:
        health.error_rate = round(len(failed) / len(samples), 3)
        if len(samples) >= enough:
            found = _ceiling(
                "error_rate", health.error_rate, thresholds.error_rate, "", "error rate"
            )
            if found is not None and health.last_error:
                found.reason += f" (last: {health.last_error})"
            findings.append(found)
    if ok:
        health.p95_latency_s = round(_p95([s.latency_s for s in ok]), 3)
        rates = [s.tokens_per_s for s in ok if s.tokens_per_s is not None]
        health.tokens_per_s = round(statistics.median(rates), 3) if rates else None
        rss = [s.rss_peak_bytes for s in ok if s.rss_peak_bytes is not None]
        health.rss_peak_mb = round(mib(max(rss)) or 0, 1) if rss else None
        cuda = [s.cuda_peak_bytes for s in ok if s.cuda_peak_bytes is not None]
        health.cuda_peak_mb = round(mib(max(cuda)) or 0, 1) if cuda else None
    if len(ok) >= enough:
        findings.append(
            _ceiling(
                "p95_latency",
                health.p95_latency_s or 0,
                thresholds.p95_latency_s,
                " s",
                "p95 latency",
            )
        )
        if health.tokens_per_s is not None:
            findings.append(
                _floor(
                    "tokens_per_s",
                    health.tokens_per_s,
                    thresholds.tokens_per_s,
                    " tokens/s",
                    "median decode",
                )
            )
        if health.rss_peak_mb is not None:
            findings.append(
                _ceiling(
                    "rss_peak",
                    health.rss_peak_mb,
                    thresholds.rss_peak_mb,
                    " MiB",
                    "peak RSS",
                )
            )
        if health.cuda_peak_mb is not None:
            findings.append(
                _ceiling(
                    "cuda_peak",
                    health.cuda_peak_mb,
                    thresholds.cuda_peak_mb,
                    " MiB",
                    "peak CUDA memory",
                )
            )
    health.findings = sorted(
        (f for f in findings if f is not None), key=lambda f: -LEVELS.index(f.level)
    )
    health.level = worst([f.level for f in health.findings])
    if health.findings:
        health.reason = "; ".join(f.reason for f in health.findings)
        health.recommendation = health.findings[0].recommendation
    elif not samples:
        health.reason = "no recent calls"
    else:
        health.reason = f"{len(samples)} recent calls within every threshold"
    return health

"""The health report of one router: every profile model (and any other model called
recently), judged; what ``/health`` returns and ``qwen-router models --health``
prints.

The overall status is ``unhealthy`` when some route has no candidate (model or
fallback) that is not unhealthy, ``degraded`` when any model is degraded or
unhealthy, else ``healthy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from .health import HealthMonitor, Level, ModelHealth, judge, worst

__all__ = ["HealthReport", "format_report", "health_report", "router_health"]


class HealthReport(BaseModel):
    status: Level
    reason: str = ""
    models: list[ModelHealth] = Field(default_factory=list)

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unhealthy" else 200


def health_report(
    profile: Any, monitor: HealthMonitor, cooldowns: Mapping[str, float]
) -> HealthReport:
    """Judge every model of ``profile`` and every other model ``monitor`` has seen."""
    routes_of: dict[str, list[str]] = {}
    candidates: dict[str, list[str]] = {}
    for route, spec in profile.routes.items():
        candidates[route] = list(dict.fromkeys([spec.model, *spec.fallbacks]))
        for model in candidates[route]:
            routes_of.setdefault(model, []).append(route)
    models = list(routes_of) + [m for m in monitor.models() if m not in routes_of]
    judged = {
        m: judge(
            m,
            monitor.samples(m),
            monitor.thresholds,
            cooldown_s=cooldowns.get(m),
            routes=routes_of.get(m, ()),
        )
        for m in models
    }
    down = [
        route
        for route, names in candidates.items()
        if all(judged[n].level == "unhealthy" for n in names)
    ]
    if down:
        status: Level = "unhealthy"
        reason = f"no healthy or degraded model left for route(s): {', '.join(down)}"
    else:
        status = (
            "degraded"
            if worst([h.level for h in judged.values()]) != "healthy"
            else "healthy"
        )
        bad = [m for m, h in judged.items() if h.level != "healthy"]
        reason = (
            f"not healthy: {', '.join(bad)}"
            if bad
            else "every model within its thresholds"
        )
    return HealthReport(status=status, reason=reason, models=list(judged.values()))


def router_health(router: Any) -> HealthReport:
    """The report of a :class:`~qwen_router.core.Router` (from its dispatcher's call
    observer and cooldowns); every model ``healthy`` with "no recent calls" when
    the router observes nothing."""
    dispatcher = router.dispatcher
    observer = getattr(dispatcher, "observer", None)
    monitor = (
        observer.monitor
        if observer is not None
        else HealthMonitor(router.profile.health)
    )
    return health_report(router.profile, monitor, dispatcher.cooldowns.snapshot())


def _cell(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def format_report(report: HealthReport) -> str:
    """Plain text: one line per model, then its reasons and recommendation."""
    lines = [f"status: {report.status} ({report.reason})"]
    header = (
        f"{'level':<10} {'model':<40} {'calls':>5} {'err%':>5} {'p95 s':>7} "
        f"{'tok/s':>7} {'rss MiB':>8}"
    )
    lines.append(header)
    for h in report.models:
        err = "-" if h.error_rate is None else f"{100 * h.error_rate:.0f}"
        lines.append(
            f"{h.level:<10} {h.model:<40} {h.calls:>5} {err:>5} "
            f"{_cell(h.p95_latency_s):>7} {_cell(h.tokens_per_s):>7} "
            f"{_cell(h.rss_peak_mb):>8}"
        )
        if h.level != "healthy":
            lines.append(f"{'':<10} reason: {h.reason}")
            lines.append(f"{'':<10} recommendation: {h.recommendation}")
    return "\n".join(lines)

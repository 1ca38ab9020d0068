"""Health for ``qwen-router models --health``: from a running server's ``/health``, or
by probing each route's model here with a few short calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qwen_router.errors import BackendUnavailable, RouterError

from .report import HealthReport, router_health

__all__ = ["PROBE_PROMPT", "fetch_health", "probe_health"]

PROBE_PROMPT = "Reply with the single word OK."


def probe_health(
    profile: str | Path | Any | None = None,
    *,
    probes: int = 1,
    max_tokens: int = 8,
    backends: Any = None,
) -> HealthReport:
    """Call every route's primary model ``probes`` times, then judge the calls.

    A failing call is recorded (that is what the report is for), not raised.

    Raises:
        ConfigError: the profile is invalid.
    """
    from qwen_router.core import Router

    router = Router(profile, backends=backends)
    try:
        models = list(
            dict.fromkeys(spec.model for spec in router.profile.routes.values())
        )
        for model in models:
            for _ in range(max(1, probes)):
                try:
                    router.invoke(
                        PROBE_PROMPT,
                        model=model,
                        params={"max_tokens": max_tokens, "temperature": 0},
                    )
                except RouterError:
                    pass  # recorded by the call observer
        return router_health(router)
    finally:
        router.close()


def fetch_health(
    url: str, *, api_key: str | None = None, timeout_s: float = 10.0
) -> HealthReport:
    """A running server's ``/health`` report.

    Raises:
        BackendUnavailable: the server cannot be reached, is starting, or answered
            something other than a health report.
    """
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    target = url.rstrip("/") + "/health"
    try:
        reply = httpx.get(target, headers=headers, timeout=timeout_s)
        body = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BackendUnavailable(f"cannot read {target}: {exc}") from None
    if not isinstance(body, dict) or "models" not in body:
        detail = body.get("status") if isinstance(body, dict) else None
        raise BackendUnavailable(
            f"{target} answered {reply.status_code} without a health report"
            + (f" ({detail})" if detail else ""),
            hint="is it a qwen-router server, and is the API key right?",
        )
    return HealthReport.model_validate(body)

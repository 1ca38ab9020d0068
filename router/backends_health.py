"""Per-route model availability for ``qwen-router models`` and ``/readyz``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RouterError
from .profiles import Profile, load_profile, parse_model_spec

__all__ = ["route_health"]


def route_health(profile: str | Path | Profile | None = None) -> list[dict[str, Any]]:
    """One row per route model and fallback: is it reachable / installed right now?

    Never raises for an unreachable backend: that is what the row reports.
    """
    from qwen_router.backends.registry import BackendPool

    loaded = load_profile(profile)
    pool = BackendPool(loaded.backends)
    rows: list[dict[str, Any]] = []
    try:
        for route, spec in loaded.routes.items():
            for role, model in [("primary", spec.model)] + [("fallback", f) for f in spec.fallbacks]:
                parsed = parse_model_spec(model)
                try:
                    health = pool.get(parsed.backend).health(parsed.name)
                    available, detail = health.available, health.detail
                except RouterError as exc:
                    available, detail = False, str(exc)
                rows.append(
                    {
                        "route": route,
                        "role": role,
                        "model": model,
                        "backend": parsed.backend,
                        "available": available,
                        "detail": detail,
                    }
                )
    finally:
        pool.close()
    return rows

"""FastAPI dependencies: the app's service, authentication and rate limits."""

from __future__ import annotations

from fastapi import Request

from .errors import ApiError
from .service import RouterService

__all__ = ["SESSION_HEADER", "admitted", "authorized", "service_of", "session_of"]


def service_of(request: Request) -> RouterService:
    """The ``RouterService`` built by the app's lifespan.

    Raises:
        ApiError: 503 while the server is still starting or already stopping.
    """
    service = getattr(request.app.state, "service", None)
    if service is None:
        raise ApiError(
            503,
            "the server is not ready",
            code="not_ready",
            headers={"Retry-After": "1"},
        )
    return service  # type: ignore[no-any-return]


async def authorized(request: Request) -> str:
    """The caller's identity, from the auth middleware (which ran before the body was
    read); checked here too for an app mounted without that middleware.

    Raises:
        ApiError: 401 for a missing or wrong key.
    """
    state = request.scope.setdefault("state", {})
    caller = state.get("caller")
    if caller is not None:
        return str(caller)
    service = service_of(request)
    client = request.client.host if request.client else ""
    try:
        caller = service.auth.check(request.headers.get("authorization"), client)
    except ApiError:
        service.metrics.reject("unauthorized")
        raise
    state["caller"] = caller
    return str(caller)


async def admitted(request: Request) -> str:
    """The caller, once its rate limits admit one more request.

    Authorization is called here rather than declared as a sub-dependency: FastAPI
    solves each dependency level per request, and this is on every chat request.

    Raises:
        ApiError: 401 (auth) or 429 with ``Retry-After`` (rate limit).
    """
    caller = await authorized(request)
    service = service_of(request)
    try:
        await service.limiter.aadmit(caller)
    except ApiError:
        service.metrics.reject("rate_limited")
        raise
    return caller


SESSION_HEADER = "x-session-id"
MAX_SESSION_ID_CHARS = 200


def session_of(request: Request, user: str | None = None) -> str | None:
    """The client's session id for session-aware routing: the ``X-Session-Id`` header,
    else the OpenAI body's ``user``; ``None`` when neither is a short, printable id."""
    session = request.headers.get(SESSION_HEADER) or user
    if not session or len(session) > MAX_SESSION_ID_CHARS or not session.isprintable():
        return None
    return session

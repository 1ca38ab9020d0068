"""One mapping from errors to HTTP answers, in each API's own error shape.

* OpenAI paths (``/v1/...``, the rest): ``{"error": {"message", "type", "param",
  "code"}}``
* Ollama paths (``/api/...``): ``{"error": "..."}``

``RouterError`` subclasses map to status codes here and only here; request-level
problems the server finds itself (auth, rate limits, overload, unknown model) are
:class:`ApiError`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ImageError,
    InputError,
    ModelNotFound,
    RouterError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .disconnect import ClientGone

__all__ = [
    "ApiError",
    "ErrorBoundaryMiddleware",
    "api_for_path",
    "error_payload",
    "error_response",
    "install_error_handlers",
    "status_for",
]

log = logging.getLogger("qwen_router.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    499: "invalid_request_error",
}
_CLIENT_GONE = 499  # nginx's "client closed request": logged, never received


class ApiError(Exception):
    """An HTTP-level refusal with a status, a message and optional headers.

    Raises:
        Nothing itself; raised by handlers and dependencies, rendered by the handler.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def api_for_path(path: str) -> str:
    """``"ollama"`` for ``/api/...`` paths, else ``"openai"``."""
    return "ollama" if path.startswith("/api/") else "openai"


def _is_limit(message: str) -> bool:
    return "over the limit" in message or "more than" in message


def status_for(exc: RouterError) -> tuple[int, str]:
    """The HTTP status and an error code for a ``RouterError``."""
    if isinstance(exc, ImageError):
        return (
            (413, "image_too_large")
            if _is_limit(exc.message)
            else (422, "invalid_image")
        )
    if isinstance(exc, InputError):
        return (
            (413, "request_too_large")
            if _is_limit(exc.message)
            else (400, "invalid_request")
        )
    if isinstance(exc, ModelNotFound):
        return 404, "model_not_found"
    if isinstance(exc, BackendUnavailable):
        return 503, "backend_unavailable"
    if isinstance(exc, BackendTimeout):
        return 504, "backend_timeout"
    if isinstance(exc, BackendResponseError):
        code = exc.status_code or 502
        return (400 if 400 <= code < 500 and code != 429 else 502), "backend_error"
    if isinstance(exc, ConfigError):
        return 500, "config_error"
    return 500, "router_error"


def error_payload(
    api: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """The error body in ``api``'s shape."""
    if api == "ollama":
        return {"error": message}
    kind = _TYPES.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    api: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` with the error in ``api``'s shape."""
    body = error_payload(api, status, message, code=code, param=param)
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        return (
            400,
            f"invalid JSON body: {detail.get('ctx', {}).get('error', 'parse error')}",
            None,
        )
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    where = ".".join(loc)
    message = (
        f"{where}: {first.get('msg', 'invalid value')}"
        if where
        else str(first.get("msg"))
    )
    if len(errors) > 1:
        message += f" (+{len(errors) - 1} more)"
    return 422, message, where or None


def install_error_handlers(app: FastAPI) -> None:
    """Register the one set of handlers that turns every error into an API answer."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            api_for_path(request.url.path),
            exc.status,
            exc.message,
            code=exc.code,
            param=exc.param,
            headers=exc.headers,
        )

    @app.exception_handler(RouterError)
    async def _router_error(request: Request, exc: RouterError) -> JSONResponse:
        status, code = status_for(exc)
        if status >= 500:
            log.warning("router error: %s: %s", type(exc).__name__, exc)
        return error_response(
            api_for_path(request.url.path), status, str(exc), code=code
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        api = api_for_path(request.url.path)
        status, message, param = _validation_message(exc)
        if api == "ollama":
            status = 400
        return error_response(api, status, message, code="invalid_request", param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(
            api_for_path(request.url.path),
            exc.status_code,
            message,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone) -> JSONResponse:
        return error_response(
            api_for_path(request.url.path),
            _CLIENT_GONE,
            "the client closed the request",
            code="client_closed_request",
        )


class ErrorBoundaryMiddleware:
    """Turn an unexpected exception into a 500 in the API's shape, and keep the
    connection usable.

    Starlette's own last-resort handler re-raises after answering, which makes the
    server drop the keep-alive connection without ``Connection: close`` (the client's
    next request on it fails). Here the exception stops: before the response started
    the client gets a 500 and the connection stays open; after it started (a broken
    stream) nothing more can be said on it, so the exception goes on and the server
    closes the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            path = scope.get("path", "")
            log.exception("unhandled error on %s", path)
            if started:
                raise
            response = error_response(
                api_for_path(path), 500, "internal server error", code="internal_error"
            )
            await response(scope, receive, send)

"""Structured request logs: one JSON line per request, with a request id and a hash of
the body instead of the body (prompts never reach the logs).

The id comes from the client's ``X-Request-ID`` when it is short and printable, and is
otherwise generated; it is echoed in the response's ``x-request-id`` header and
handlers find it in ``request.state.request_id``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import api_for_path
from .metrics import Metrics

__all__ = ["ACCESS_LOGGER", "RequestLogMiddleware"]

ACCESS_LOGGER = "qwen_router.server.access"
_log = logging.getLogger(ACCESS_LOGGER)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CHAT_PATHS = ("/v1/chat/completions", "/api/chat", "/api/generate")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestLogMiddleware:
    """Assign a request id, hash the body, log the outcome, count chat errors."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _SAFE_ID.match(given) else secrets.token_hex(16)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        digest = hashlib.sha256()
        size = 0
        status = 0
        start = time.perf_counter()

        async def hashing_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                digest.update(chunk)
            return message

        async def tagging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, hashing_receive, tagging_send)
        except Exception:
            status = status or 500
            raise
        finally:
            self._finish(scope, state, status, start, size, digest)

    def _finish(
        self,
        scope: Scope,
        state: dict[str, Any],
        status: int,
        start: float,
        size: int,
        digest: Any,
    ) -> None:
        path = scope.get("path", "")
        if status >= 400 and path in _CHAT_PATHS:
            self.metrics.error(
                api_for_path(path),
                status,
                route=state.get("route", ""),
                model=state.get("model", ""),
            )
        if not _log.isEnabledFor(logging.INFO):
            return
        record = {
            "event": "request",
            "request_id": state.get("request_id"),
            "method": scope.get("method"),
            "path": path,
            "status": status,
            "ms": round((time.perf_counter() - start) * 1000, 2),
            "body_bytes": size,
            "body_sha256": digest.hexdigest()[:16] if size else None,
            "caller": state.get("caller"),
            "route": state.get("route"),
            "model": state.get("model"),
            "stream": state.get("stream"),
        }
        _log.info(json.dumps({k: v for k, v in record.items() if v is not None}))

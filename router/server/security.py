"""Protection: bearer-token auth, body size, backend concurrency (rate limits:
:mod:`.limits`).

* :class:`Authenticator` compares tokens in constant time (``hmac.compare_digest``),
  against every key, so timing says nothing about which key came close.
* :class:`AuthMiddleware` checks the key of every request but ``/healthz`` and ``/``
  before its body is read, so an unauthenticated client costs no parsing; with keys
  set, ``/metrics``, ``/readyz``, ``/docs`` and ``/openapi.json`` need a key too.
* :class:`ConcurrencyGate` lets ``N`` requests run per backend; the rest queue for
  ``queue_timeout_s`` and are then refused with 503 instead of exhausting memory.
* :class:`BodyLimitMiddleware` refuses bodies over ``max_body_bytes`` with 413.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, api_for_path, error_payload
from .limits import RateLimiter
from .metrics import Metrics

__all__ = [
    "OPEN_PATHS",
    "AuthMiddleware",
    "Authenticator",
    "BodyLimitMiddleware",
    "ConcurrencyGate",
    "Lease",
    "RateLimiter",
    "send_error",
]

OPEN_PATHS = frozenset({"/healthz", "/"})


class Authenticator:
    """Checks ``Authorization: Bearer <key>``; with no keys configured, all pass."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [k.encode() for k in keys if k]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None, client: str = "") -> str:
        """The caller's identity: a short hash of its key, or ``anon:<client>``.

        Raises:
            ApiError: 401 when auth is on and the token is missing or wrong.
        """
        if not self._keys:
            return f"anon:{client}"
        scheme, _, token = (authorization or "").partition(" ")
        given = token.strip().encode()
        matched = False
        for key in self._keys:  # no early exit: every key is compared
            matched |= hmac.compare_digest(given, key)
        if scheme.lower() != "bearer" or not given or not matched:
            raise ApiError(
                401,
                "invalid or missing API key (send 'Authorization: Bearer <key>')",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return "key:" + hashlib.sha256(given).hexdigest()[:12]


class AuthMiddleware:
    """Authenticate from the headers alone, before any body is read or parsed.

    The caller's identity goes to ``scope["state"]["caller"]``.
    """

    def __init__(
        self, app: ASGIApp, *, auth: Authenticator, metrics: Metrics
    ) -> None:
        self.app, self.auth, self.metrics = app, auth, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else ""
        path = scope.get("path", "")
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if path in OPEN_PATHS and self.auth.enabled:
            await self.app(scope, receive, send)
            return
        try:
            caller = self.auth.check(header, host)
        except ApiError as exc:
            self.metrics.reject("unauthorized")
            if _has_body(scope):  # left unread: the connection cannot be reused
                exc.headers = {**exc.headers, "Connection": "close"}
            await send_error(scope, send, exc)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


async def send_error(scope: Scope, send: Send, exc: ApiError) -> None:
    """Answer ``exc`` in the API's shape from ASGI middleware (no app involved)."""
    api = api_for_path(scope.get("path", ""))
    body = json.dumps(
        error_payload(api, exc.status, exc.message, code=exc.code, param=exc.param)
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Lease:
    """A held backend slot; ``release()`` is idempotent."""

    def __init__(self, gate: ConcurrencyGate, backend: str) -> None:
        self._gate, self.backend, self._held = gate, backend, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._gate._release(self.backend)


class ConcurrencyGate:
    """At most ``limit(backend)`` requests per backend at once; a short queue, then
    503."""

    def __init__(
        self, limit: Callable[[str], int], *, queue_timeout_s: float, metrics: Metrics
    ) -> None:
        self._limit, self.queue_timeout_s, self._metrics = (
            limit,
            queue_timeout_s,
            metrics,
        )
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    async def acquire(self, backend: str) -> Lease:
        """Wait for a slot on ``backend``.

        Raises:
            ApiError: 503 with ``Retry-After`` when no slot frees within the timeout.
        """
        sem = self._semaphores.get(backend)
        if sem is None:
            sem = self._semaphores[backend] = asyncio.Semaphore(self._limit(backend))
        if sem.locked():
            queued = self._metrics.series(self._metrics.queued, backend=backend)
            queued.inc()
            try:
                await asyncio.wait_for(
                    sem.acquire(), timeout=self.queue_timeout_s or 0.001
                )
            except asyncio.TimeoutError:
                self._metrics.reject("overloaded")
                raise ApiError(
                    503,
                    f"the {backend} backend is busy; try again shortly",
                    code="overloaded",
                    headers={"Retry-After": "1"},
                ) from None
            finally:
                queued.dec()
        else:
            await sem.acquire()
        self._metrics.series(self._metrics.in_flight, backend=backend).inc()
        return Lease(self, backend)

    def _release(self, backend: str) -> None:
        self._metrics.series(self._metrics.in_flight, backend=backend).dec()
        self._semaphores[backend].release()


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, before they are read whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.max_bytes:
                await _send_413(scope, send, self.max_bytes)
                return
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read up to the limit here, then replay it
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await _send_413(scope, send, self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        first: Message = {
            "type": "http.request",
            "body": b"".join(chunks),
            "more_body": False,
        }
        await self.app(scope, _replay([first], None, receive), send)


def _replay(
    messages: list[Message], extra: Message | None, receive: Receive
) -> Receive:
    pending = list(messages) + ([extra] if extra is not None else [])

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    # the unread rest of the body stays on the connection: tell the client it closes
    await send_error(
        scope,
        send,
        ApiError(
            413,
            f"request body is over the limit of {limit} bytes",
            code="request_too_large",
            headers={"Connection": "close"},
        ),
    )

"""Protection: bearer-token auth, per-key rate limits, body size, backend concurrency.

* :class:`Authenticator` compares tokens in constant time (``hmac.compare_digest``),
  against every key, so timing says nothing about which key came close.
* :class:`RateLimiter` keeps two token buckets per key: requests per minute and
  tokens per minute. Requests spend one on entry; tokens are charged after the
  answer, so one large answer can take the bucket below zero and the key waits.
* :class:`ConcurrencyGate` lets ``N`` requests run per backend; the rest queue for
  ``queue_timeout_s`` and are then refused with 503 instead of exhausting memory.
* :class:`BodyLimitMiddleware` refuses bodies over ``max_body_bytes`` with 413.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, api_for_path, error_payload
from .metrics import Metrics

__all__ = [
    "Authenticator",
    "BodyLimitMiddleware",
    "ConcurrencyGate",
    "Lease",
    "RateLimiter",
]

Clock = Callable[[], float]


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


@dataclass
class _Bucket:
    level: float
    stamp: float


class RateLimiter:
    """Per-key requests- and tokens-per-minute buckets (``None``: no limit)."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rpm, self.tpm, self.clock = rpm, tpm, clock
        self._requests: dict[str, _Bucket] = {}
        self._tokens: dict[str, _Bucket] = {}

    def _level(self, table: dict[str, _Bucket], key: str, capacity: int) -> _Bucket:
        now = self.clock()
        bucket = table.setdefault(key, _Bucket(float(capacity), now))
        bucket.level = min(
            capacity, bucket.level + (now - bucket.stamp) * capacity / 60.0
        )
        bucket.stamp = now
        return bucket

    def admit(self, key: str) -> None:
        """Spend one request for ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when either bucket is empty.
        """
        if self.tpm is not None:
            tokens = self._level(self._tokens, key, self.tpm)
            if tokens.level <= 0:
                wait = (1 - tokens.level) * 60.0 / self.tpm
                raise _limited("tokens per minute", self.tpm, wait)
        if self.rpm is not None:
            requests = self._level(self._requests, key, self.rpm)
            if requests.level < 1:
                wait = (1 - requests.level) * 60.0 / self.rpm
                raise _limited("requests per minute", self.rpm, wait)
            requests.level -= 1

    def charge(self, key: str, tokens: int) -> None:
        """Charge ``tokens`` used by an answer to ``key``."""
        if self.tpm is not None and tokens > 0:
            self._level(self._tokens, key, self.tpm).level -= tokens


def _limited(what: str, limit: int, wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        f"rate limit reached: {limit} {what}; retry in {seconds}s",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(seconds)},
    )


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
            queued = self._metrics.queued.labels(backend=backend)
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
        self._metrics.in_flight.labels(backend=backend).inc()
        return Lease(self, backend)

    def _release(self, backend: str) -> None:
        self._metrics.in_flight.labels(backend=backend).dec()
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


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    api = api_for_path(scope.get("path", ""))
    body = json.dumps(
        error_payload(
            api,
            413,
            f"request body is over the limit of {limit} bytes",
            code="request_too_large",
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

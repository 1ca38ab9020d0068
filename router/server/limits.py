"""Per-key rate limits: requests per minute and tokens per minute.

Two token buckets per key. A request spends one request on entry; tokens are charged
after the answer, so one large answer can take the token bucket below zero and the key
waits until it refills.

* :class:`RateLimiter` keeps the buckets in this process (the default).
* :class:`RedisRateLimiter` keeps them in Redis (``redis_url``), so that every
  ``serve`` replica spends from one budget per key. One Lua script refills, checks and
  spends atomically, with Redis's own clock, so the replicas need no shared clock. When
  Redis cannot be reached the request is refused with 503 (limits are never silently
  dropped).

Both have ``aadmit`` / ``acharge``, which the server awaits.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

__all__ = ["Limiter", "RateLimiter", "RedisRateLimiter", "make_limiter"]

log = logging.getLogger("qwen_router.server")
Clock = Callable[[], float]


@dataclass
class _Bucket:
    level: float
    stamp: float


def _limited(what: str, limit: int, wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        f"rate limit reached: {limit} {what}; retry in {seconds}s",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(seconds)},
    )


class RateLimiter:
    """Per-key requests- and tokens-per-minute buckets in this process (``None``: no
    limit)."""

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

    async def aadmit(self, key: str) -> None:
        """:meth:`admit` (awaitable, like the shared limiter's).

        Raises:
            ApiError: 429 as :meth:`admit`.
        """
        self.admit(key)

    async def acharge(self, key: str, tokens: int) -> None:
        self.charge(key, tokens)

    async def aclose(self) -> None:
        return None


# KEYS: requests bucket, tokens bucket. ARGV: rpm (0: none), tpm (0: none), mode
# ("admit" or "charge"), tokens to charge. Returns {ok, what, level}: ok 0 means
# refused by `what` ("rpm"/"tpm") at `level`.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function level(key, cap)
  local v = redis.call('HMGET', key, 'level', 'stamp')
  local l = tonumber(v[1]) or cap
  local s = tonumber(v[2]) or now
  return math.min(cap, l + math.max(0, now - s) * cap / 60.0)
end
local function store(key, l)
  redis.call('HSET', key, 'level', tostring(l), 'stamp', tostring(now))
  redis.call('EXPIRE', key, 180)
end
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] == 'charge' then
  if tpm > 0 then store(KEYS[2], level(KEYS[2], tpm) - tonumber(ARGV[4])) end
  return {1, '', '0'}
end
if tpm > 0 then
  local l = level(KEYS[2], tpm)
  if l <= 0 then return {0, 'tpm', tostring(l)} end
end
if rpm > 0 then
  local l = level(KEYS[1], rpm)
  if l < 1 then return {0, 'rpm', tostring(l)} end
  store(KEYS[1], l - 1)
end
return {1, '', '0'}
"""


class RedisRateLimiter:
    """The same buckets, shared through Redis by every replica (``redis`` package)."""

    def __init__(
        self, url: str, rpm: int | None, tpm: int | None, *, prefix: str = "qwen-router"
    ) -> None:
        import redis.asyncio as aioredis

        self.rpm, self.tpm, self.prefix = rpm, tpm, prefix
        self._client: Any = aioredis.from_url(url, socket_timeout=2.0)
        self._script = self._client.register_script(_SCRIPT)

    async def _run(self, key: str, mode: str, tokens: int = 0) -> list[Any]:
        import redis

        keys = [f"{self.prefix}:rpm:{key}", f"{self.prefix}:tpm:{key}"]
        try:
            result: list[Any] = await self._script(
                keys=keys, args=[self.rpm or 0, self.tpm or 0, mode, tokens]
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("rate limiter: redis failed: %s", exc)
            raise ApiError(
                503,
                "the rate limiter is unavailable; try again shortly",
                code="limiter_unavailable",
                headers={"Retry-After": "1"},
            ) from None
        return result

    async def aadmit(self, key: str) -> None:
        """Spend one request for ``key`` from the shared budget.

        Raises:
            ApiError: 429 with ``Retry-After`` when a bucket is empty; 503 when Redis
                cannot be reached.
        """
        ok, what, level = await self._run(key, "admit")
        if int(ok):
            return
        value = float(level)
        if (what.decode() if isinstance(what, bytes) else what) == "tpm":
            assert self.tpm is not None
            raise _limited("tokens per minute", self.tpm, (1 - value) * 60.0 / self.tpm)
        assert self.rpm is not None
        raise _limited("requests per minute", self.rpm, (1 - value) * 60.0 / self.rpm)

    async def acharge(self, key: str, tokens: int) -> None:
        """Charge an answer's tokens to ``key``; a Redis failure is only logged.

        Raises:
            Nothing.
        """
        if self.tpm is None or tokens <= 0:
            return
        try:
            await self._run(key, "charge", tokens)
        except ApiError:
            pass

    async def aclose(self) -> None:
        await self._client.aclose()


Limiter = RateLimiter | RedisRateLimiter


def make_limiter(
    rpm: int | None, tpm: int | None, *, redis_url: str | None, prefix: str
) -> Limiter:
    """The shared limiter when ``redis_url`` is set, else the per-process one.

    Raises:
        ConfigError: ``redis_url`` is set but the ``redis`` package is missing.
    """
    if not redis_url or (rpm is None and tpm is None):
        return RateLimiter(rpm, tpm)
    try:
        import redis  # noqa: F401
    except ImportError:
        from qwen_router.errors import ConfigError

        raise ConfigError(
            "redis_url is set but the redis package is not installed",
            hint="pip install redis",
        ) from None
    return RedisRateLimiter(redis_url, rpm, tpm, prefix=prefix)

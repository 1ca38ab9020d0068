"""Session pinning: the last route per client session, in a small bounded TTL store.

A client that sends only its newest message (or a server that sees many short
requests from one agent) can still get conversation-aware routing by passing a
session id (an ``X-Session-Id`` header, OpenAI's ``user`` field...): the
classifier reads the session's last route as the prior for the new message, exactly
as it reads the route of the previous assistant turn, and stores the new route.

The store is in-process, thread-safe, bounded (least recently used sessions are
dropped past ``max_sessions``) and forgets a session ``ttl_s`` after its last use.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["SessionStore"]

_MAX_ID = 256


class SessionStore:
    """Route per session id, with expiry and an LRU bound.

    ``clock`` (monotonic seconds) is injectable so tests can move time.
    """

    def __init__(
        self,
        *,
        ttl_s: float = 1800.0,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0 or max_sessions < 1:
            raise ValueError("ttl_s must be > 0 and max_sessions >= 1")
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(session_id: str) -> str:
        """The id as stored: clipped, so a client cannot grow memory with huge ids."""
        return str(session_id)[:_MAX_ID]

    def get(self, session_id: str) -> str | None:
        """The session's last route, or ``None`` (unknown or expired)."""
        key, now = self.key(session_id), self._clock()
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            route, at = item
            if now - at > self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return route

    def put(self, session_id: str, route: str) -> None:
        """Record ``route`` as the session's last route (refreshes its expiry)."""
        key, now = self.key(session_id), self._clock()
        with self._lock:
            self._items[key] = (route, now)
            self._items.move_to_end(key)
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)
            # drop expired entries from the old end, a few at a time
            for _ in range(4):
                oldest = next(iter(self._items.items()), None)
                if oldest is None or now - oldest[1][1] <= self.ttl_s:
                    break
                self._items.popitem(last=False)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._items.pop(self.key(session_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

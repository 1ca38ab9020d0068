"""Stop work for a client that has gone.

A handler has read its body before it runs, so the next ASGI ``receive()`` returns only
when the client disconnects (``http.disconnect``). :func:`until_disconnect` races the
work against that: when the client goes first, the work is cancelled (which closes the
backend stream, stops generation and frees the backend slot) and :class:`ClientGone`
is raised, so nothing is sent to nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.types import Receive

__all__ = ["ClientGone", "Watch", "disconnect_watch", "until_disconnect"]

T = TypeVar("T")
Watch = Callable[[], Awaitable[None]]


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


def disconnect_watch(receive: Receive) -> Watch:
    """A watch that returns once ``receive`` reports the client gone."""

    async def watch() -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return

    return watch


async def until_disconnect(work: Awaitable[T], watch: Watch | None) -> T:
    """The result of ``work``, run in this task (so its context stays the caller's),
    unless ``watch`` returns first: then this task is cancelled inside ``work``, which
    unwinds and cleans up, and :class:`ClientGone` is raised instead.

    Raises:
        ClientGone: the client disconnected first.
        Exception: whatever ``work`` raises.
    """
    if watch is None:
        return await work
    current = asyncio.current_task()
    assert current is not None
    gone = False

    async def watcher() -> None:
        nonlocal gone
        with contextlib.suppress(Exception):
            await watch()
            gone = True
            current.cancel()

    task = asyncio.ensure_future(watcher())
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        uncancel = getattr(current, "uncancel", None)  # Python 3.11+
        if uncancel is not None:
            uncancel()
        raise ClientGone from None
    finally:
        task.cancel()

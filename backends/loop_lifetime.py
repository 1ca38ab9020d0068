"""Close an event loop's client when that loop shuts down.

An async HTTP client (an aiohttp session, an httpx ``AsyncClient``) belongs to the loop
it was made on, and its pooled connections are transports of that loop. A library
caller that runs ``asyncio.run(router.ainvoke(...))`` and never closes the router ends
the loop with those connections open: the sockets stay open until garbage collection,
which then warns (``ResourceWarning: unclosed transport``), once per loop.

:func:`close_with_loop` ties a close to the loop: it starts an async generator whose
``finally`` awaits the close. ``asyncio.run`` (``loop.shutdown_asyncgens()``) closes
every live async generator of its loop before closing the loop, so the close runs
there, on the right loop. The caller keeps the returned generator for as long as the
client lives: the loop holds its async generators weakly, and one collected early
would close the client early.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

__all__ = ["close_with_loop"]


async def close_with_loop(
    aclose: Callable[[], Awaitable[object]],
) -> AsyncGenerator[None, None]:
    """A started async generator that awaits ``aclose()`` when the running loop shuts
    down its async generators, or when it is closed itself (``await keeper.aclose()``).
    Call it from inside the loop that owns the client, and keep what it returns."""

    async def keeper() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await aclose()

    started = keeper()
    await anext(started)  # registered with the running loop's async generators
    return started

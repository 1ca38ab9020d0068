"""A streaming response that always cleans up: the route stream is closed and its
backend slot released whether the body finished, failed, or the client went away
(before the first byte too: the wait for a slot and for the first token are cancelled
when the client disconnects)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from .disconnect import ClientGone, disconnect_watch, until_disconnect
from .service import Plan, RouterService, RouteStream

__all__ = ["REPAIR_NOTE", "GuardedStreamingResponse", "start_stream"]

# What both APIs stream when a verifier refutes the answer and a repair pass starts.
REPAIR_NOTE = "\n\n[verifier refuted the answer; repairing]\n\n"


class GuardedStreamingResponse(StreamingResponse):
    """``StreamingResponse`` that runs ``on_close`` once, shielded from cancellation.

    The body is sent from the handler's own task, raced against one disconnect
    watch (:func:`until_disconnect`). Starlette's own response, under an ASGI
    server older than spec 2.4 (uvicorn), opens a task group and sends from a task
    started in it: the first byte then waits a turn of the event loop, and each
    stream pays for the group.
    """

    def __init__(
        self,
        content: AsyncIterator[str],
        *,
        on_close: Callable[[], Awaitable[None]],
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(content, headers=headers, media_type=media_type)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with contextlib.suppress(ClientGone):  # nobody left to send to
                await until_disconnect(
                    self.stream_response(send), disconnect_watch(receive)
                )
        except OSError:  # a spec 2.4 server's send to a gone client, as Starlette maps it
            raise ClientDisconnect() from None
        finally:
            with anyio.CancelScope(shield=True):
                closer = getattr(self.body_iterator, "aclose", None)
                try:
                    if closer is not None:
                        await closer()
                finally:
                    await self._on_close()


async def _primed(service: RouterService, plan: Plan) -> RouteStream:
    """A backend slot, and the stream run up to its first token (one disconnect
    watch covers both waits); the slot is given back if priming fails or is
    cancelled."""
    stream = await service.open_stream(plan)
    try:
        await stream.prime()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await stream.aclose()
        raise
    return stream


async def start_stream(
    service: RouterService,
    plan: Plan,
    request: Request,
    render: Callable[[RouteStream], AsyncIterator[str]],
    *,
    media_type: str,
) -> GuardedStreamingResponse:
    """Take a backend slot, run to the first token, then stream ``render(stream)``
    with the plan's headers.

    Raises:
        ApiError: 503 when the backend stays busy (before any byte is sent).
        RouterError: the request failed before its first token (its own status).
        ClientGone: the client disconnected before the first token.
    """
    stream = await until_disconnect(
        _primed(service, plan), disconnect_watch(request.receive)
    )
    request.scope.setdefault("state", {})["stream"] = True
    return GuardedStreamingResponse(
        render(stream),
        on_close=stream.aclose,
        headers=plan.headers(),
        media_type=media_type,
    )

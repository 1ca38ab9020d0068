"""``GuardedStreamingResponse`` at the ASGI level: where its body runs, and what a
client that goes mid-body leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from qwen_router.server.streaming import GuardedStreamingResponse
from starlette.requests import ClientDisconnect

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},  # as uvicorn reports it
}


def test_the_body_is_sent_from_the_handlers_own_task() -> None:
    """No task group and no task of its own: the first byte does not wait for the
    event loop to start another task."""
    seen: list[asyncio.Task[Any] | None] = []
    sent: list[dict[str, Any]] = []

    async def body() -> AsyncIterator[str]:
        seen.append(asyncio.current_task())
        yield "data: one\n\n"

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def on_close() -> None:
        pass

    async def handler() -> asyncio.Task[Any] | None:
        response = GuardedStreamingResponse(
            body(), on_close=on_close, media_type="text/event-stream"
        )
        await response(SCOPE, receive, send)
        return asyncio.current_task()

    handler_task = asyncio.run(handler())
    assert seen == [handler_task]
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert sent[1]["body"] == b"data: one\n\n"
    assert sent[2] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_client_gone_mid_body_closes_the_stream_once_and_raises_nothing() -> None:
    closed: list[str] = []
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        gone = asyncio.Event()
        waiting_for_token = asyncio.Event()

        async def body() -> AsyncIterator[str]:
            try:
                yield "data: first\n\n"
                waiting_for_token.set()
                await asyncio.sleep(3600)  # a backend that has not answered yet
                yield "data: never\n\n"
            finally:
                closed.append("body")

        async def receive() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def on_close() -> None:
            closed.append("slot")

        response = GuardedStreamingResponse(
            body(), on_close=on_close, media_type="text/event-stream"
        )
        call = asyncio.ensure_future(response(SCOPE, receive, send))
        await waiting_for_token.wait()
        gone.set()
        await asyncio.wait_for(call, 5)  # returns at once, without an exception
        assert not call.cancelled() and call.exception() is None

    asyncio.run(run())
    assert closed == ["body", "slot"]
    assert [m.get("body") for m in sent[1:]] == [b"data: first\n\n"]


def test_a_send_that_fails_with_oserror_is_a_client_disconnect() -> None:
    """An ASGI 2.4 server reports a gone client by failing ``send`` with OSError;
    it reads as Starlette reads it, and the stream still closes once."""
    closed: list[str] = []

    async def body() -> AsyncIterator[str]:
        try:
            yield "data: first\n\n"
        finally:
            closed.append("body")

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("connection reset")

    async def on_close() -> None:
        closed.append("slot")

    async def run() -> None:
        response = GuardedStreamingResponse(
            body(), on_close=on_close, media_type="text/event-stream"
        )
        scope = {**SCOPE, "asgi": {"version": "3.0", "spec_version": "2.4"}}
        with pytest.raises(ClientDisconnect):
            await response(scope, receive, send)

    asyncio.run(run())
    assert closed == ["body", "slot"]

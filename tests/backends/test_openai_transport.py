"""The OpenAI-compatible backend's HTTP transport: Server-Sent Events decoded from the
bytes as they arrive (split anywhere, as TCP splits them), and both clients' requests
as a server receives them."""

from __future__ import annotations

import asyncio
import json

import pytest
from qwen_router.backends.openai_compat.transport import (
    LINE_LIMIT,
    AsyncTransport,
    Endpoint,
    EventDecoder,
    StreamError,
    SyncTransport,
    UpstreamStatus,
    env_proxy,
)
from qwen_router.backends.openai_compat.wire import MalformedEvent
from support.finalizers import finalizer_reports
from support.openai_server import OpenAITestServer

STREAM = (
    b": a comment, read past\r\n"
    b'data: {"choices": [{"delta": {"content": "caf\xc3\xa9"}}]}\r\n'
    b"\r\n"
    b"event: message\n"
    b"id: 7\n"
    b'data: {"choices": [{"delta":\n'
    b'data: {"content": "two lines"}}]}\n'
    b"\n"
    b"data: [DONE]\n\n"
    b'data: {"after": "done"}\n\n'
)
EVENTS = [
    {"choices": [{"delta": {"content": "café"}}]},
    {"choices": [{"delta": {"content": "two lines"}}]},
]


def _decode(chunks: list[bytes]) -> tuple[list[dict[str, object]], bool]:
    decoder = EventDecoder()
    events = []
    for chunk in chunks:
        events += decoder.feed(chunk)
        if decoder.done:
            return events, True
    return events + decoder.end(), decoder.done


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(STREAM)])
def test_events_are_the_same_however_the_bytes_are_split(size: int) -> None:
    """Split every ``size`` bytes: inside ``data:``, between ``\\r`` and ``\\n``, and
    inside the two bytes of ``é``."""
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert _decode(chunks) == (EVENTS, True)


def test_a_last_event_without_its_blank_line_still_counts() -> None:
    events, done = _decode([b'data: {"a": 1}\n\ndata: {"b": 2}'])
    assert events == [{"a": 1}, {"b": 2}] and not done


def test_an_error_object_in_the_stream_raises_with_its_body() -> None:
    decoder = EventDecoder()
    with pytest.raises(StreamError) as info:
        decoder.feed(b'data: {"error": {"message": "engine died"}}\n\n')
    assert info.value.body == {"message": "engine died"}


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"[1, 2]", MalformedEvent), (b"{not json", json.JSONDecodeError)],
)
def test_data_that_is_not_a_json_object_is_refused(
    data: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        EventDecoder().feed(b"data: " + data + b"\n\n")


def test_a_line_that_never_ends_is_refused_not_buffered_forever() -> None:
    decoder = EventDecoder()
    decoder.feed(b"data: " + b"x" * (LINE_LIMIT // 2))
    with pytest.raises(MalformedEvent, match="longer than"):
        decoder.feed(b"x" * LINE_LIMIT)


def test_both_clients_send_the_same_request(openai_server: OpenAITestServer) -> None:
    """The sync (httpx) and async (aiohttp) transports: the key as a bearer token,
    the configured headers, the JSON body; the same events back."""
    openai_server.faults.api_key = "sekret"
    endpoint = Endpoint(openai_server.base_url, "sekret", 30.0, {"X-Team": "router"})
    body = {
        "model": "qwen2.5-tiny",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 3,
        "seed": 1,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    sync = SyncTransport(endpoint)
    try:
        sync_events = list(sync.events("/chat/completions", body))
    finally:
        sync.close()
    sync_request = openai_server.last

    async def run() -> list[dict[str, object]]:
        transport = await AsyncTransport.open(endpoint)
        try:
            return [e async for e in transport.events("/chat/completions", body)]
        finally:
            await transport.close()

    async_events = asyncio.run(run())
    async_request = openai_server.last
    for request in (sync_request, async_request):
        assert request.headers["authorization"] == "Bearer sekret"
        assert request.headers["x-team"] == "router"
        assert request.body == body
    assert len(sync_events) == len(async_events) >= 3
    assert sync_events[-1].get("usage") and async_events[-1].get("usage")


def test_an_error_status_keeps_the_server_s_json_body(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.faults.fail_status = 429
    transport = SyncTransport(Endpoint(openai_server.base_url, None, 30.0))
    try:
        with pytest.raises(UpstreamStatus) as info:
            transport.post_json("/chat/completions", {"model": "qwen2.5-tiny"})
    finally:
        transport.close()
    assert info.value.status_code == 429
    assert "injected failure 429" in info.value.body["error"]["message"]


def test_a_session_left_open_closes_with_its_event_loop(
    openai_server: OpenAITestServer,
) -> None:
    """``asyncio.run(...)`` without closing (a script calling ``router.ainvoke``):
    the session closes when the loop shuts down, and nothing warns later."""
    endpoint = Endpoint(openai_server.base_url, None, 30.0)

    async def use() -> AsyncTransport:
        transport = await AsyncTransport.open(endpoint)
        assert not transport.closed
        await transport.get_json("/models")  # a pooled connection stays open
        return transport

    with finalizer_reports() as reports:
        transports = [asyncio.run(use()) for _ in range(2)]
        assert [t.closed for t in transports] == [True, True]
        del transports
    assert reports == []


def test_the_proxy_comes_from_the_environment_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert env_proxy("http://vllm.internal:8000/v1") is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert env_proxy("http://vllm.internal:8000/v1") == "http://proxy.internal:3128"
    assert env_proxy("https://vllm.internal/v1") is None  # no HTTPS_PROXY
    monkeypatch.setenv("NO_PROXY", "vllm.internal")
    assert env_proxy("http://vllm.internal:8000/v1") is None


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_one_connection_serves_request_after_request(
    openai_server: OpenAITestServer, stream: bool
) -> None:
    """Before, an async stream left its body unread after ``[DONE]`` (the chunked
    body's last chunk), so its connection could not go back to the pool: every
    streamed request paid a new TCP connection. (A sync stream still does, as the
    openai SDK's did: a blocking read after ``[DONE]`` has no deadline.)"""
    endpoint = Endpoint(openai_server.base_url, None, 30.0)
    body = {"model": "qwen2.5-tiny", "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 2, "stream": stream}  # fmt: skip

    async def rounds() -> None:
        transport = await AsyncTransport.open(endpoint)
        try:
            for _ in range(3):
                if stream:
                    assert [e async for e in transport.events("/chat/completions", body)]
                else:
                    reply = await transport.post_json("/chat/completions", body)
                    assert reply["choices"]
        finally:
            await transport.close()

    before = openai_server.connections
    asyncio.run(rounds())
    assert openai_server.connections - before == 1
    if not stream:
        sync = SyncTransport(endpoint)
        try:
            for _ in range(3):
                assert sync.post_json("/chat/completions", body)["choices"]
        finally:
            sync.close()
        assert openai_server.connections - before == 2


def test_a_server_that_holds_a_finished_stream_open_does_not_hold_the_answer(
    openai_server: OpenAITestServer,
) -> None:
    """After ``[DONE]`` the rest of the body is read for the connection's sake, for
    a tenth of a second at most: a server that never ends the body costs the
    connection, not the answer (which is complete)."""
    openai_server.faults.hold_after_done_s = 30.0
    endpoint = Endpoint(openai_server.base_url, None, 60.0)
    body = {"model": "qwen2.5-tiny", "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 2, "stream": True}  # fmt: skip

    async def run() -> tuple[int, float]:
        transport = await AsyncTransport.open(endpoint)
        try:
            start = asyncio.get_running_loop().time()
            events = [e async for e in transport.events("/chat/completions", body)]
            return len(events), asyncio.get_running_loop().time() - start
        finally:
            await transport.close()

    count, seconds = asyncio.run(run())
    assert count >= 2 and seconds < 20  # not the server's 30 s hold

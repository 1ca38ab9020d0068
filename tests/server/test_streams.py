"""Clients that go away mid-stream, and a graceful shutdown that finishes streams."""

from __future__ import annotations

import threading
import time
from typing import Any

import openai
from qwen_router.backends.fake import FakeBackend

HI = [{"role": "user", "content": "hi"}]


def oai(server: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60
    )


def _in_flight(server: Any) -> float:
    registry = server.app.state.metrics.registry
    return (
        registry.get_sample_value("qwen_router_in_flight", {"backend": "fake"}) or 0.0
    )


def _wait_until(predicate: Any, limit_s: float = 20.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_client_disconnect_mid_stream_frees_the_slot(fake_server: Any) -> None:
    slow = FakeBackend(reply=" ".join(["word"] * 200), token_delay_s=0.02)
    with fake_server(slow, backend_concurrency=1, queue_timeout_s=30) as server:
        c = oai(server)
        stream = c.chat.completions.create(model="auto", messages=HI, stream=True)
        for i, _chunk in enumerate(stream):
            if i == 3:
                break
        stream.close()  # the client goes away
        assert _wait_until(lambda: _in_flight(server) == 0)
        # the only slot is free again: another client is served in full
        answer = c.chat.completions.create(
            model="auto", messages=HI, extra_body={"max_tokens": 5}
        )
        assert answer.choices[0].message.content == "word word word word word"


def test_graceful_shutdown_finishes_in_flight_stream(fake_server: Any) -> None:
    slow = FakeBackend(reply=" ".join(["tok"] * 20), token_delay_s=0.05)
    with fake_server(slow) as server:
        stream = oai(server).chat.completions.create(
            model="auto", messages=HI, stream=True
        )
        chunks = iter(stream)
        next(chunks)
        stopper = threading.Thread(target=server.stop)
        stopper.start()  # asks uvicorn to exit while the stream is running
        rest = list(chunks)
        stopper.join(timeout=30)
        assert not server.thread.is_alive()
    text = "".join(ch.choices[0].delta.content or "" for ch in rest if ch.choices)
    assert text.split() == ["tok"] * 20
    assert rest[-1].choices[0].finish_reason == "stop"

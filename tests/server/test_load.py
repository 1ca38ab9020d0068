"""Bounded concurrency: 100 clients at once, every one answered completely and in the
right format (both APIs, streamed and not). Bounded in count and time; no timing
assertions."""

from __future__ import annotations

import asyncio
from typing import Any

import ollama
import openai
from qwen_router.backends.fake import FakeBackend

CLIENTS = 100


async def _openai(server: Any, i: int, stream: bool) -> str:
    c = openai.AsyncOpenAI(
        base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=120
    )
    messages = [{"role": "user", "content": f"request {i}"}]
    if not stream:
        completion = await c.chat.completions.create(model="auto", messages=messages)
        assert completion.choices[0].finish_reason == "stop"
        return completion.choices[0].message.content or ""
    parts, finished = [], []
    async for chunk in await c.chat.completions.create(
        model="auto", messages=messages, stream=True
    ):
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finished.append(chunk.choices[0].finish_reason)
    assert finished[-1] == "stop"
    return "".join(parts)


async def _ollama(server: Any, i: int, stream: bool) -> str:
    c = ollama.AsyncClient(host=server.url, timeout=120)
    messages = [{"role": "user", "content": f"request {i}"}]
    if not stream:
        response = await c.chat(model="auto", messages=messages)
        assert response.done
        return response.message.content
    parts = [
        p async for p in await c.chat(model="auto", messages=messages, stream=True)
    ]
    assert parts[-1].done
    return "".join(p.message.content for p in parts)


def test_100_concurrent_requests_all_complete(fake_server: Any) -> None:
    backend = FakeBackend(token_delay_s=0.001, record=False)
    with fake_server(backend, backend_concurrency=8, queue_timeout_s=120) as server:

        async def run() -> list[str]:
            calls = [
                (_openai if i % 2 else _ollama)(server, i, stream=bool(i % 3))
                for i in range(CLIENTS)
            ]
            return await asyncio.wait_for(asyncio.gather(*calls), timeout=300)

        answers = asyncio.run(run())
    assert answers == [f"[scripted] request {i}" for i in range(CLIENTS)]
    assert backend.calls == CLIENTS

"""Every sampling field a client sends either reaches the backend or is refused with a 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from qwen_router.backends.fake import FakeBackend

MESSAGES = [{"role": "user", "content": "hi"}]


def _post(server: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=60)


def test_openai_penalties_and_top_k_reach_the_backend(fake_server: Any) -> None:
    backend = FakeBackend(reply="ok")
    with fake_server(backend) as server:
        reply = _post(server, "/v1/chat/completions", {
            "model": "auto:general", "messages": MESSAGES,
            "presence_penalty": 1.5, "repetition_penalty": 1.05, "top_k": 20,
            "store": False, "metadata": {"team": "a"},  # documented: no effect on the answer
        })  # fmt: skip
    assert reply.status_code == 200, reply.text
    params = backend.requests[-1].params
    assert (params.presence_penalty, params.repetition_penalty, params.top_k) == (1.5, 1.05, 20)


@pytest.mark.parametrize(
    ("field", "value"),
    [("frequency_penalty", 0.5), ("min_p", 0.1), ("reasoning_effort", "low"), ("n_best", 2)],
)
def test_openai_fields_the_server_cannot_honour_are_a_400(
    fake_server: Any, field: str, value: Any
) -> None:
    backend = FakeBackend(reply="ok")
    with fake_server(backend) as server:
        reply = _post(server, "/v1/chat/completions", {
            "model": "auto:general", "messages": MESSAGES, field: value,
        })  # fmt: skip
    assert reply.status_code == 400, reply.text
    assert field in reply.json()["error"]["message"]
    assert backend.requests == []


def test_ollama_presence_penalty_reaches_the_backend(fake_server: Any) -> None:
    backend = FakeBackend(reply="ok")
    with fake_server(backend) as server:
        reply = _post(server, "/api/chat", {
            "model": "auto:general", "messages": MESSAGES, "stream": False,
            "options": {"presence_penalty": 0.5, "num_thread": 4},  # num_thread: documented
        })  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert backend.requests[-1].params.presence_penalty == 0.5


@pytest.mark.parametrize(
    ("option", "value"), [("frequency_penalty", 0.5), ("min_p", 0.05), ("mirostat", 2)]
)
def test_ollama_options_the_server_cannot_honour_are_a_400(
    fake_server: Any, option: str, value: Any
) -> None:
    backend = FakeBackend(reply="ok")
    with fake_server(backend) as server:
        reply = _post(server, "/api/chat", {
            "model": "auto:general", "messages": MESSAGES, "stream": False,
            "options": {option: value},
        })  # fmt: skip
    assert reply.status_code == 400, reply.text
    assert option in reply.json()["error"]
    assert backend.requests == []

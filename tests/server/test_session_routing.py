"""A client that sends only its newest message keeps its route through a session id."""

from __future__ import annotations

from pathlib import Path

import httpx

from .conftest import serve


def _route(client: httpx.Client, text: str, headers: dict[str, str] | None = None, **body: object) -> str:
    reply = client.post(
        "/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": text}], **body},
        headers=headers or {},
    )
    assert reply.status_code == 200, reply.text
    return reply.headers["x-qwen-router-route"]


def test_a_follow_up_inherits_its_sessions_route(fake_profile_yaml: Path) -> None:
    with serve(fake_profile_yaml) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        first = _route(client, "Write a Python function that reverses a linked list.",
                       {"x-session-id": "alice"})
        assert first == "code"
        assert _route(client, "Now make it faster", {"x-session-id": "alice"}) == "code"
        # the OpenAI body's `user` works as the session id too
        _route(client, "Write a Python function that reverses a linked list.", user="bob")
        assert _route(client, "Now make it faster", user="bob") == "code"
        # another session, or none, has no prior: the same words alone are general
        assert _route(client, "Now make it faster", {"x-session-id": "carol"}) == "general"
        assert _route(client, "Now make it faster") == "general"

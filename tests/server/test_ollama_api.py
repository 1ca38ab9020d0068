"""The Ollama-compatible API, through the official ``ollama`` client."""

from __future__ import annotations

from typing import Any

import httpx
import ollama
import pytest
from qwen_router.backends.fake import FakeBackend

from .helpers import png_bytes


def client(server: Any, **kwargs: Any) -> ollama.Client:
    return ollama.Client(host=server.url, timeout=120, **kwargs)


def capturing(server: Any) -> tuple[ollama.Client, list[httpx.Response]]:
    """A client that keeps each response (headers) through an httpx event hook."""
    seen: list[httpx.Response] = []
    return client(server, event_hooks={"response": [seen.append]}), seen


def test_chat_from_tiny_model_with_route_headers(tiny_server: Any) -> None:
    c, seen = capturing(tiny_server)
    response = c.chat(
        model="auto",
        messages=[{"role": "user", "content": "Solve 2x + 4 = 10 for x."}],
        stream=False,
        options={"temperature": 0},
    )
    assert response.done and response.done_reason in ("stop", "length")
    assert isinstance(response.message.content, str) and response.eval_count
    assert seen[-1].headers["x-qwen-router-route"] == "math"
    assert seen[-1].headers["x-qwen-router-model"].startswith("hf:")
    assert response.model == "auto"


def test_chat_stream_matches_non_stream(tiny_server: Any) -> None:
    c = client(tiny_server)
    messages = [{"role": "user", "content": "Describe a quiet morning."}]
    options = {"temperature": 0, "num_predict": 6}
    full = c.chat(
        model="auto:general", messages=messages, stream=False, options=options
    )
    parts = list(
        c.chat(model="auto:general", messages=messages, stream=True, options=options)
    )
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == full.message.content
    assert parts[-1].eval_count == full.eval_count


def test_generate_stream(tiny_server: Any) -> None:
    parts = list(
        client(tiny_server).generate(
            model="auto:code",
            prompt="Write a Python function.",
            system="Be brief.",
            stream=True,
        )
    )
    assert parts[-1].done and parts[-1].eval_count
    assert all(isinstance(p.response, str) for p in parts)


def test_tags_show_version(tiny_server: Any) -> None:
    c = client(tiny_server)
    names = [m.model for m in c.list().models]
    assert "auto" in names and "auto:math" in names
    shown = c.show("auto:math")
    assert "completion" in (shown.capabilities or [])
    assert shown.modelinfo["qwen_router.route"] == "math"
    assert c.show("auto:latest").modelinfo["qwen_router.kind"] == "auto"
    assert httpx.get(tiny_server.url + "/api/version").json()["version"]
    assert httpx.get(tiny_server.url + "/").text == "Ollama is running"


def test_unknown_model_is_404(tiny_server: Any) -> None:
    c = client(tiny_server)
    with pytest.raises(ollama.ResponseError) as info:
        c.chat(model="llama-nonexistent", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 404 and "not found" in info.value.error
    with pytest.raises(ollama.ResponseError) as info:
        c.show("llama-nonexistent")
    assert info.value.status_code == 404


def test_empty_generate_only_loads(tiny_server: Any) -> None:
    response = client(tiny_server).generate(model="auto", prompt="")
    assert response.done and response.done_reason == "load"


def test_think_and_images(fake_server: Any) -> None:
    backend = FakeBackend(reply="A red square.", thinking="Looking closely.")
    with fake_server(backend) as server:
        c = client(server)
        response = c.chat(
            model="fake:qwen3-scripted",
            think=True,
            stream=False,
            messages=[
                {"role": "user", "content": "What is this?", "images": [png_bytes()]}
            ],
        )
        parts = list(
            c.generate(
                model="auto", prompt="What is this?", images=[png_bytes()], stream=True
            )
        )
    assert response.message.content == "A red square."
    assert response.message.thinking == "Looking closely."
    assert any(m.images for m in backend.requests[0].messages)
    assert "".join(p.response for p in parts).strip() == "A red square."


def test_unreadable_image_is_rejected(fake_server: Any) -> None:
    with fake_server() as server, pytest.raises(ollama.ResponseError) as info:
        client(server).chat(
            model="auto",
            messages=[{"role": "user", "content": "x", "images": ["bm90IGFuIGltYWdl"]}],
        )
    assert info.value.status_code == 422


def test_failure_mid_stream_is_an_error_line(fake_server: Any) -> None:
    backend = FakeBackend(reply="a b c d", fail_on="BOOM", fail_after_tokens=1)
    with (
        fake_server(backend) as server,
        pytest.raises(ollama.ResponseError, match="scripted"),
    ):
        list(
            client(server).chat(
                model="auto",
                messages=[{"role": "user", "content": "BOOM"}],
                stream=True,
            )
        )

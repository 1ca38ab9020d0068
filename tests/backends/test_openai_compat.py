"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1.

The server (``tests/openai_test_server.py``) speaks ``/v1/chat/completions`` like vLLM
and answers with tiny random Qwen2 / Qwen3 models, so tokens, templates, the
reasoning split and usage are real. Seeded sampling makes answers comparable.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import Chunk, GenerateRequest
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.backends.registry import create_backend
from qwen_router.types import GenerationParams, ImagePart, Message, TextPart
from support.loopback import free_port
from support.openai_server import OpenAITestServer
from support.thread_hops import thread_hops

QWEN2 = "qwen2.5-tiny"
QWEN3 = "qwen3-tiny"
SEEDED = GenerationParams(max_tokens=8, temperature=1.0, seed=1)  # deterministic


@pytest.fixture
def backend(openai_server: OpenAITestServer) -> Iterator[OpenAIBackend]:
    backend = OpenAIBackend(
        base_url=openai_server.base_url, api_key="test-key", timeout=120
    )
    yield backend
    backend.close()


def _request(model: str = QWEN2, **kwargs: Any) -> GenerateRequest:
    kwargs.setdefault("params", SEEDED)
    messages = [Message(role="user", content="Say hello.")]
    return GenerateRequest(model=model, messages=messages, **kwargs)


def _chats(server: OpenAITestServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.path == "/v1/chat/completions"]


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


# --- streaming, non-streaming, async --------------------------------------------------
def test_stream_yields_text_and_usage_from_the_final_chunk(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    chunks = list(backend.stream(_request()))
    result = chunks[-1].result
    assert chunks[-1].done and result is not None
    assert result.text.strip() and result.text == "".join(c.text for c in chunks)
    assert result.thinking is None
    assert (result.backend, result.model) == ("openai", QWEN2)
    assert result.usage.prompt_tokens > 0
    assert 0 < result.usage.completion_tokens <= 8
    assert result.finish_reason in ("length", "stop")
    body = openai_server.last.body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (8, 1.0, 1)
    assert "chat_template_kwargs" not in body
    assert body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert openai_server.last.headers["authorization"] == "Bearer test-key"


def test_generate_is_one_non_streaming_call_with_the_same_answer(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    text = "".join(c.text for c in backend.stream(_request()))
    result = backend.generate(_request())
    assert result.text == text
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert _chats(openai_server)[-1].get("stream") in (False, None)
    assert "stream_options" not in _chats(openai_server)[-1]


def test_sampling_parameters_reach_the_server_as_vllm_takes_them(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    params = GenerationParams(
        max_tokens=4,
        temperature=0.0,
        top_p=0.9,
        top_k=5,
        seed=7,
        stop=["\n\n"],
        repetition_penalty=1.1,
        num_ctx=2048,
    )
    backend.generate(_request(params=params))
    body = openai_server.last.body
    assert body["max_tokens"] == 4 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["stop"] == ["\n\n"]
    assert body["top_k"] == 5 and body["repetition_penalty"] == 1.1  # extra_body
    assert "num_ctx" not in body


def test_async_stream_and_generate(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    expected = backend.generate(_request()).text

    async def run() -> tuple[list[Chunk], str]:
        chunks = [c async for c in backend.astream(_request())]
        result = await backend.agenerate(_request())
        await backend.aclose()
        return chunks, result.text

    chunks, text = asyncio.run(run())
    assert chunks[-1].result is not None and chunks[-1].result.text == expected
    assert chunks[-1].result.usage.completion_tokens > 0
    assert text == expected
    assert [b.get("stream") for b in _chats(openai_server)[1:]] == [True, False]


# --- thinking -------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_become_thinking(
    backend: OpenAIBackend, openai_server: OpenAITestServer, field: str
) -> None:
    openai_server.faults.reasoning_field = field
    chunks = list(backend.stream(_request(QWEN3, thinking=True)))
    result = chunks[-1].result
    assert result is not None and result.thinking
    assert "".join(c.thinking for c in chunks).strip("\n") == result.thinking
    assert result.usage.thinking_tokens > 0
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": True}
    assert backend.generate(_request(QWEN3, thinking=True)).thinking == result.thinking


def test_thinking_off_reaches_the_chat_template(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    result = backend.generate(_request(QWEN3, thinking=False))
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}
    assert openai_server.last.prompt.endswith(
        "<think>\n\n</think>\n\n"
    )  # Qwen3's template
    assert result.thinking is None and result.text


def test_profile_extra_body_merges_with_the_thinking_flag(
    openai_server: OpenAITestServer,
) -> None:
    extra = {"chat_template_kwargs": {"custom": 1}, "min_p": 0.05}
    backend = OpenAIBackend(base_url=openai_server.base_url, extra_body=extra)
    backend.generate(_request(QWEN3, thinking=True))
    body = openai_server.last.body
    assert body["chat_template_kwargs"] == {"custom": 1, "enable_thinking": True}
    assert body["min_p"] == 0.05
    backend.close()


# --- images and response_format -------------------------------------------------------
def test_images_reach_the_server_as_image_url_data_urls(
    backend: OpenAIBackend, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    png = _png()
    path = tmp_path / "red.png"
    path.write_bytes(png)
    content = [
        TextPart(text="What colour?"),
        ImagePart(image=str(path)),
        ImagePart(image=png),
        ImagePart(image=base64.b64encode(png).decode()),
    ]
    request = GenerateRequest(
        model=QWEN2, messages=[Message(role="user", content=content)], params=SEEDED
    )
    backend.generate(request)
    parts = openai_server.last.body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url", "image_url"]
    assert all(
        p["image_url"]["url"].startswith("data:image/png;base64,") for p in parts[1:]
    )
    assert openai_server.last.images == [png, png, png]


def test_response_format_passes_through(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    wrapped = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema},
    }
    backend.generate(_request(response_format=wrapped))
    assert openai_server.last.body["response_format"] == wrapped
    backend.generate(_request(response_format=schema))  # a bare schema gets wrapped
    sent = openai_server.last.body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == schema


# --- continuing the final assistant message -------------------------------------------
def test_continue_assistant_after_a_closed_thought_answers(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    partial = "<think>\nShort thought.\n</think>\n\n"
    messages = [Message(role="user", content="Say hello.")]
    chunks = list(
        backend.continue_assistant(QWEN3, messages, partial, SEEDED, thinking=True)
    )
    body = openai_server.last.body
    assert body["continue_final_message"] is True
    assert body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": partial}
    assert openai_server.last.prompt.endswith("Short thought.\n</think>\n\n")
    assert (
        "<|im_end|>"
        not in openai_server.last.prompt.rsplit("<|im_start|>assistant", 1)[1]
    )
    result = chunks[-1].result
    assert result is not None and result.text and result.thinking is None


def test_continue_assistant_inside_a_thought_keeps_thinking(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    messages = [Message(role="user", content="Say hello.")]
    partial = "<think>\nStill thinking"

    async def run() -> list[Chunk]:
        stream = backend.acontinue_assistant(QWEN3, messages, partial, SEEDED)
        return [c async for c in stream]

    chunks = asyncio.run(run())
    assert openai_server.last.prompt.endswith("Still thinking")
    result = chunks[-1].result
    assert result is not None and result.thinking


def test_the_thinking_budget_controller_sees_raw_continuation(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    from qwen_router.tools.budget.continuation import continuation_kind

    request = _request(QWEN3, thinking=True)
    assert continuation_kind(backend, request) == "raw"  # the RawContinuation protocol
    prefix = "<think>\nEnough.\n</think>\n\n"
    chunks = list(backend.continue_raw(request, prefix, SEEDED, in_thinking=False))
    assert openai_server.last.body["messages"][-1]["content"] == prefix
    assert chunks[-1].result is not None and chunks[-1].result.text


# --- models, health, configuration ----------------------------------------------------
def test_list_models_and_health(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    assert backend.list_models() == [QWEN2, QWEN3]
    assert asyncio.run(backend.alist_models()) == [QWEN2, QWEN3]
    assert backend.health(QWEN3).available
    missing = backend.health("qwen-nope")
    assert not missing.available and "qwen-nope" in missing.detail
    assert openai_server.last.path == "/v1/models"


def test_base_url_and_key_come_from_the_environment_by_default(
    openai_server: OpenAITestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    openai_server.faults.api_key = "env-key"
    backend = OpenAIBackend()
    assert backend.base_url == openai_server.base_url
    assert backend.generate(_request()).text
    backend.close()
    profile = create_backend(
        "openai",
        {"base_url": openai_server.base_url, "api_key": "profile-key", "timeout": 30},
    )
    assert isinstance(profile, OpenAIBackend)
    openai_server.faults.api_key = (
        "profile-key"  # the profile's options beat the environment
    )
    assert profile.generate(_request()).text
    profile.close()


def test_router_with_an_openai_profile(
    openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    from qwen_router import Router

    path = tmp_path / "cluster.yaml"
    path.write_text(
        "name: cluster\n"
        f"backends:\n  openai: {{base_url: '{openai_server.base_url}', api_key: k}}\n"
        "routes:\n"
        f"  general:\n    model: openai:{QWEN2}\n"
        "    params: {max_tokens: 6, temperature: 0.0}\n",
        encoding="utf-8",
    )
    result = Router(path).invoke("Say hello.", route="general")
    assert result.backend == "openai" and result.model.endswith(QWEN2)
    assert result.answer and result.usage.prompt_tokens > 0
    assert _chats(openai_server)[-1]["model"] == QWEN2


def test_endpoints_send_each_model_to_its_own_cluster(
    openai_server: OpenAITestServer,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(
        base_url=nobody, endpoints={QWEN2: openai_server.base_url + "/"}
    )
    assert (
        backend.url_for(QWEN2) == openai_server.base_url
        and backend.url_for(QWEN3) == nobody
    )
    assert backend.generate(_request()).text
    assert backend.health(QWEN2).available
    other = backend.health(QWEN3)
    assert not other.available and nobody in other.detail
    backend.close()


def test_only_a_budgeted_request_to_an_unknown_engine_leaves_the_event_loop(
    backend: OpenAIBackend,
) -> None:
    """Before, every streamed request ran ``prepare`` in a worker thread (a thread hop
    before the first byte went out), though it does nothing without a budget."""
    assert thread_hops(lambda: backend.aprepare(_request())) == 0
    budgeted = _request(thinking=True, thinking_budget=16)
    assert thread_hops(lambda: backend.aprepare(budgeted)) == 1  # the engine probe
    assert thread_hops(lambda: backend.aprepare(budgeted)) == 0  # known from now on

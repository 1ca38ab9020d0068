"""OllamaBackend through the official client, against a loopback Ollama-protocol server
that answers with tiny real Qwen models (tests/ollama_server.py)."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import Chunk, GenerateRequest, GenerateResult
from qwen_router.backends.ollama import OllamaBackend
from qwen_router.backends.ollama.wire import format_from, image_b64, options_from
from qwen_router.backends.registry import create_backend
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ImageError,
    ModelCapabilityError,
    ModelNotFound,
)
from qwen_router.types import GenerationParams, ImagePart, Message, TextPart
from support.finalizers import finalizer_reports
from support.ollama_server import OllamaTestServer
from support.thread_hops import thread_hops

pytestmark = pytest.mark.timeout(120)  # hang guard only

PARAMS = GenerationParams(max_tokens=6, temperature=0.0, seed=7)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _req(model: str = "qwen2.5:tiny", **kw: Any) -> GenerateRequest:
    kw.setdefault("params", PARAMS)
    return GenerateRequest(
        model=model, messages=[Message(role="user", content="Hi!")], **kw
    )


def _bodies(server: OllamaTestServer, path: str = "/api/chat") -> list[dict[str, Any]]:
    return [body for p, body in server.requests if p == path]


@pytest.fixture
def backend(ollama_server: OllamaTestServer) -> Iterator[OllamaBackend]:
    b = OllamaBackend(host=ollama_server.host, keep_alive="5m", timeout=60)
    yield b
    b.close()


def test_stream_reports_usage_and_server_timings(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    chunks = list(backend.stream(_req()))
    assert [c.done for c in chunks].count(True) == 1 and chunks[-1].done
    result = chunks[-1].result
    assert result is not None
    assert result.text == "".join(c.text for c in chunks) and result.text
    assert result.usage.prompt_tokens > 10  # the ChatML system prompt + "Hi!"
    assert result.usage.completion_tokens == 6
    assert result.finish_reason == "length"
    assert result.generate_ms > 0 and result.backend == "ollama"
    body = _bodies(ollama_server)[-1]
    assert body["stream"] is True and body["keep_alive"] == "5m"
    assert body["options"] == {"num_predict": 6, "temperature": 0.0, "seed": 7}
    assert "think" not in body and "format" not in body


def test_generate_is_one_non_streaming_call(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    result = backend.generate(_req())
    streamed = list(backend.stream(_req()))[-1].result
    assert isinstance(result, GenerateResult) and streamed is not None
    assert result.text == streamed.text  # greedy with a seed: the same answer
    assert result.usage.completion_tokens == 6
    assert [b["stream"] for b in _bodies(ollama_server)] == [False, True]


def test_async_stream_and_generate(backend: OllamaBackend) -> None:
    async def main() -> tuple[list[Chunk], GenerateResult]:
        chunks = [c async for c in backend.astream(_req())]
        result = await backend.agenerate(_req())
        await backend.aclose()
        return chunks, result

    chunks, result = asyncio.run(main())
    assert chunks[-1].done and chunks[-1].result is not None
    assert chunks[-1].result.text == result.text
    assert result.usage.completion_tokens == 6


def test_a_client_left_open_closes_with_its_event_loop(
    ollama_server: OllamaTestServer,
) -> None:
    """``asyncio.run(...)`` per call, never closing the backend (a script calling
    ``router.ainvoke``): each loop's client and its pooled connection close when
    that loop shuts down, and no socket is left for the garbage collector."""
    backend = OllamaBackend(host=ollama_server.host, timeout=60)

    async def use() -> int:
        return (await backend.agenerate(_req())).usage.completion_tokens

    with finalizer_reports() as reports:
        assert [asyncio.run(use()) for _ in range(3)] == [6, 6, 6]
    assert reports == []  # before the fix: an unclosed socket and transport per loop


def test_think_true_splits_message_thinking(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    chunks = list(backend.stream(_req("qwen3:tiny", thinking=True)))
    result = chunks[-1].result
    assert result is not None
    assert result.thinking and any(c.thinking for c in chunks)
    assert result.usage.thinking_tokens > 0
    assert _bodies(ollama_server)[-1]["think"] is True


def test_think_false_and_none(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    off = backend.generate(_req("qwen3:tiny", thinking=False))
    assert off.thinking is None and off.text
    assert _bodies(ollama_server)[-1]["think"] is False
    backend.generate(_req("qwen3:tiny"))
    assert "think" not in _bodies(ollama_server)[-1]


def test_think_level(ollama_server: OllamaTestServer) -> None:
    b = OllamaBackend(host=ollama_server.host, think_level={"qwen3:tiny": "high"})
    b.generate(_req("qwen3:tiny", thinking=True))
    assert _bodies(ollama_server)[-1]["think"] == "high"


def test_model_without_thinking_is_retried_without_think(
    backend: OllamaBackend,
    ollama_server: OllamaTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="qwen_router.backends.ollama"):
        first = backend.generate(_req(thinking=True))
        chunks = list(backend.stream(_req(thinking=True)))
    assert first.text and chunks[-1].done
    thinks = ["think" in b for b in _bodies(ollama_server)]
    assert thinks == [True, False, False]  # rejected once, then never sent again
    warnings = [
        r for r in caplog.records if "does not support thinking" in r.getMessage()
    ]
    assert len(warnings) == 1


def test_images_in_every_accepted_form(
    backend: OllamaBackend, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    b64 = base64.b64encode(PNG).decode()
    parts = [TextPart(text="What is this?")] + [
        ImagePart(image=v)
        for v in (str(path), PNG, b64, f"data:image/png;base64,{b64}")
    ]
    request = GenerateRequest(
        model="qwen2.5vl:tiny",
        messages=[Message(role="user", content=parts)],
        params=PARAMS,
    )
    assert backend.generate(request).text
    message = _bodies(ollama_server)[-1]["messages"][-1]
    assert message["content"] == "What is this?"
    assert message["images"] == [b64] * 4


def test_images_to_a_model_without_vision_are_refused(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    message = Message(role="user", content=[TextPart(text="x"), ImagePart(image=PNG)])
    with pytest.raises(ModelCapabilityError, match="cannot read images"):
        backend.generate(GenerateRequest(model="qwen2.5:tiny", messages=[message]))
    assert not _bodies(ollama_server)  # refused after /api/show, before any chat


def test_only_an_image_request_to_an_unseen_model_leaves_the_event_loop(
    backend: OllamaBackend,
) -> None:
    """Before, every async chat checked vision support in a worker thread, a thread
    hop before the request went out; only ``/api/show`` (images, first time) does."""

    async def chat(request: GenerateRequest) -> None:
        async for _ in backend.astream(request):
            pass

    assert thread_hops(lambda: chat(_req())) == 0
    message = Message(role="user", content=[TextPart(text="x"), ImagePart(image=PNG)])
    image = GenerateRequest(model="qwen2.5vl:tiny", messages=[message], params=PARAMS)
    assert thread_hops(lambda: chat(image)) == 1  # /api/show, then the chat
    assert thread_hops(lambda: chat(image)) == 0  # its capabilities are known now


@pytest.mark.parametrize(
    "bad", ["https://example.com/cat.png", "missing.png", "not base64!"]
)
def test_bad_images_fail_before_any_request(
    backend: OllamaBackend, ollama_server: OllamaTestServer, bad: str
) -> None:
    with pytest.raises(ImageError):
        image_b64(bad)
    message = Message(role="user", content=[TextPart(text="x"), ImagePart(image=bad)])
    with pytest.raises(ImageError):
        backend.generate(GenerateRequest(model="qwen2.5vl:tiny", messages=[message]))
    assert not ollama_server.requests


def test_structured_output_format_is_passed_through(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    backend.generate(_req(response_format=schema))
    assert _bodies(ollama_server)[-1]["format"] == schema
    wrapped = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    assert format_from(wrapped) == schema
    assert format_from({"type": "json_object"}) == "json"
    assert format_from(None) is None


def test_options_mapping() -> None:
    params = GenerationParams(
        max_tokens=9,
        num_ctx=4096,
        temperature=0.3,
        top_p=0.8,
        top_k=20,
        seed=1,
        stop=["\n\n"],
        repetition_penalty=1.1,
    )
    assert options_from(params, {"num_ctx": 2048, "num_thread": 2}) == {
        "num_predict": 9,
        "num_ctx": 4096,
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 20,
        "seed": 1,
        "stop": ["\n\n"],
        "repeat_penalty": 1.1,
        "num_thread": 2,
    }


def test_model_not_found(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFound) as info:
        list(backend.stream(_req("qwen9:404b")))
    assert info.value.hint == "ollama pull qwen9:404b"
    with pytest.raises(ModelNotFound):
        backend.generate(_req("qwen9:404b"))


def test_server_not_running(dead_host: str) -> None:
    b = OllamaBackend(host=dead_host)
    for call in (
        lambda: b.generate(_req()),
        lambda: list(b.stream(_req())),
        b.list_models,
    ):
        with pytest.raises(BackendUnavailable) as info:
            call()
        assert dead_host in str(info.value)
    with pytest.raises(BackendUnavailable):
        asyncio.run(b.agenerate(_req()))
    health = b.health("qwen2.5:tiny")
    assert not health.available and dead_host in health.detail


def test_stall_times_out(ollama_server: OllamaTestServer) -> None:
    ollama_server.faults.stall_s = 30  # woken by stop() at teardown
    b = OllamaBackend(host=ollama_server.host, timeout=0.3)
    with pytest.raises(BackendTimeout):
        list(b.stream(_req()))
    with pytest.raises(BackendTimeout):
        asyncio.run(b.agenerate(_req()))
    ollama_server.stop()


def test_error_line_mid_stream_is_not_a_complete_answer(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    ollama_server.faults.error_after = 2
    seen: list[Chunk] = []
    with pytest.raises(BackendResponseError) as info:
        for chunk in backend.stream(_req()):
            seen.append(chunk)
    assert not any(c.done for c in seen)  # whitespace-only pieces may be held back
    assert "after 2 chunks" in str(info.value)

    async def consume() -> list[Chunk]:
        return [c async for c in backend.astream(_req())]

    with pytest.raises(BackendResponseError):
        asyncio.run(consume())


def test_server_errors_are_retryable(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    ollama_server.faults.fail_status, ollama_server.faults.fail_count = 500, 1
    with pytest.raises(BackendResponseError) as info:
        backend.generate(_req())
    assert info.value.status_code == 500 and info.value.retryable
    assert backend.generate(_req()).text  # the fault was one-shot


def test_list_models_health_and_capabilities(backend: OllamaBackend) -> None:
    assert set(backend.list_models()) == {
        "qwen2.5:tiny",
        "qwen2.5vl:tiny",
        "qwen3:tiny",
    }
    assert asyncio.run(backend.alist_models()) == backend.list_models()
    assert backend.health("qwen3:tiny").available
    missing = backend.health("qwen3:235b")
    assert not missing.available and "ollama pull qwen3:235b" in missing.detail
    assert "thinking" in backend.model_capabilities("qwen3:tiny")
    with pytest.raises(ModelNotFound):
        backend.model_capabilities("nope")


def test_raw_continuation_uses_generate_raw(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    prompt = (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nLet me see"
    )
    chunks = list(backend.stream_prompt("qwen3:tiny", prompt, PARAMS, in_thinking=True))
    result = chunks[-1].result
    assert (
        result is not None and result.thinking and result.usage.completion_tokens == 6
    )
    body = _bodies(ollama_server, "/api/generate")[-1]
    assert body["raw"] is True and body["prompt"] == prompt and "think" not in body

    async def main() -> list[Chunk]:
        return [c async for c in backend.astream_prompt("qwen3:tiny", prompt, PARAMS)]

    assert asyncio.run(main())[-1].done


def test_host_from_environment_and_registry(
    ollama_server: OllamaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{ollama_server.port}")
    assert OllamaBackend().list_models()
    made = create_backend("ollama", {"host": None, "keep_alive": "5m", "timeout": 30})
    assert isinstance(made, OllamaBackend) and made.health("qwen3:tiny").available


def test_importing_the_package_does_not_import_the_client() -> None:
    import subprocess
    import sys

    code = "import sys, qwen_router.backends; print('ollama' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr

"""The OpenAI-compatible API, through the official ``openai`` client."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from qwen_router.backends.fake import FakeBackend

from .helpers import png_data_url

QWEN3 = "fake:qwen3-scripted"  # a hybrid-thinking name, so thinking is not clamped off
MATH = "Solve for x: 3x + 5 = 20. What is x?"


def client(server: Any, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=120
    )


def test_routed_answer_from_tiny_model_with_headers(tiny_server: Any) -> None:
    raw = client(tiny_server).chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": MATH}], temperature=0
    )
    completion = raw.parse()
    assert raw.headers["x-qwen-router-route"] == "math"
    assert raw.headers["x-qwen-router-model"].startswith("hf:")
    assert 0 <= float(raw.headers["x-qwen-router-confidence"]) <= 1
    meta = completion.model_extra["qwen_router"]
    assert (
        meta["route"] == "math" and meta["model"] == raw.headers["x-qwen-router-model"]
    )
    assert completion.object == "chat.completion"
    assert isinstance(completion.choices[0].message.content, str)
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert 0 < completion.usage.completion_tokens
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_stream_matches_non_stream_and_reports_usage(tiny_server: Any) -> None:
    c = client(tiny_server)
    messages = [{"role": "user", "content": "Tell me about the weather in spring."}]
    full = c.chat.completions.create(
        model="auto:general", messages=messages, temperature=0
    )
    chunks = list(
        c.chat.completions.create(
            model="auto:general",
            messages=messages,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].model_extra["qwen_router"]["route"] == "general"
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == full.choices[0].message.content
    finals = [ch for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].model_extra["qwen_router"][
        "model"
    ].startswith("hf:")
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens


def test_stream_headers_are_sent_before_the_body(tiny_server: Any) -> None:
    with client(tiny_server).chat.completions.with_streaming_response.create(
        model="auto",
        messages=[{"role": "user", "content": "def add(a, b): return a + b  # fix"}],
        stream=True,
    ) as response:
        assert response.headers["x-qwen-router-route"] == "code"
        assert response.headers["content-type"].startswith("text/event-stream")
        assert any(line.startswith("data: [DONE]") for line in response.iter_lines())


def test_forced_route_and_concrete_model(tiny_server: Any) -> None:
    c = client(tiny_server)
    raw = c.chat.completions.with_raw_response.create(
        model="auto:code", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert raw.headers["x-qwen-router-route"] == "code"
    assert raw.parse().model_extra["qwen_router"]["forced"] is True
    spec = next(m.id for m in c.models.list() if m.id.startswith("hf:"))
    raw = c.chat.completions.with_raw_response.create(
        model=spec, messages=[{"role": "user", "content": "Hello!"}], max_tokens=2
    )
    assert raw.headers["x-qwen-router-model"] == spec
    assert raw.parse().usage.completion_tokens <= 2


def test_models_list(tiny_server: Any) -> None:
    ids = [m.id for m in client(tiny_server).models.list()]
    assert ids[0] == "auto"
    assert {
        f"auto:{r}" for r in ("general", "code", "math", "vision", "multilingual")
    } <= set(ids)


def test_unknown_model_is_404(tiny_server: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client(tiny_server).chat.completions.create(
            model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.body["code"] == "model_not_found"


def test_sampling_params_reach_the_backend(fake_server: Any) -> None:
    backend = FakeBackend(reply="one two three four five six")
    with fake_server(backend) as server:
        completion = client(server).chat.completions.create(
            model="auto:general",
            messages=[{"role": "user", "content": "hi"}],
            max_completion_tokens=3,
            temperature=0.3,
            top_p=0.9,
            stop=["zzz"],
            seed=7,
        )
    params = backend.requests[-1].params
    assert (params.max_tokens, params.temperature, params.top_p) == (3, 0.3, 0.9)
    assert (params.stop, params.seed) == (["zzz"], 7)
    assert completion.choices[0].finish_reason == "length"


def test_thinking_goes_to_reasoning_content(fake_server: Any) -> None:
    backend = FakeBackend(reply="The answer.", thinking="Step one. Step two.")
    with fake_server(backend) as server:
        c = client(server)
        extra = {
            "chat_template_kwargs": {"enable_thinking": True},
            "thinking_budget": 64,
        }
        completion = c.chat.completions.create(
            model=QWEN3, messages=[{"role": "user", "content": "hi"}], extra_body=extra
        )
        chunks = list(
            c.chat.completions.create(
                model=QWEN3,
                messages=[{"role": "user", "content": "hi"}],
                extra_body=extra,
                stream=True,
            )
        )
    message = completion.choices[0].message
    assert message.content == "The answer."
    assert message.model_extra["reasoning_content"] == "Step one. Step two."
    assert backend.requests[-1].thinking is True
    thought = "".join(
        (ch.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for ch in chunks
        if ch.choices
    )
    assert thought.strip() == "Step one. Step two."


def test_image_data_url_routes_to_vision(fake_server: Any) -> None:
    backend = FakeBackend(reply="A red square.")
    with fake_server(backend) as server:
        raw = client(server).chat.completions.with_raw_response.create(
            model="auto",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": png_data_url()}},
                    ],
                }
            ],
        )
    assert raw.headers["x-qwen-router-route"] == "vision"
    assert raw.parse().choices[0].message.content == "A red square."
    images = [m.images for m in backend.requests[-1].messages if m.images]
    assert images and isinstance(images[0][0].image, bytes)


def test_backend_failure_before_output_keeps_its_status(fake_server: Any) -> None:
    with fake_server(FakeBackend(fail_on="BOOM")) as server:
        c = client(server)
        for stream in (False, True):
            with pytest.raises(openai.APIStatusError) as info:
                result = c.chat.completions.create(
                    model="auto",
                    messages=[{"role": "user", "content": "BOOM"}],
                    stream=stream,
                )
                list(result) if stream else None
            assert info.value.status_code == 503
            assert info.value.body["type"] == "server_error"


def test_failure_mid_stream_is_an_error_event(fake_server: Any) -> None:
    backend = FakeBackend(reply="a b c d e f", fail_on="BOOM", fail_after_tokens=2)
    with fake_server(backend) as server:
        stream = client(server).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "BOOM"}], stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIError, match="scripted failure"):
            for chunk in stream:
                if chunk.choices:
                    received.append(chunk.choices[0].delta.content or "")
        assert "".join(received).strip() == "a b"


def test_extra_body_fields_map_to_the_route_request() -> None:
    from qwen_router.server.openai_api import to_route_request
    from qwen_router.server.schemas import ChatCompletionRequest
    from qwen_router.server.service import ModelEntry

    body = ChatCompletionRequest.model_validate(
        {
            "model": "auto:math",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": "2+2?"},
            ],
            "thinking_budget": 64,
            "chat_template_kwargs": {"enable_thinking": False},
            "max_tokens": 9,
            "stop": "END",
            "response_format": {"type": "text"},
        }
    )
    request = to_route_request(
        body, ModelEntry("auto:math", "route", route="math"), allow_urls=False
    )
    assert (request.route, request.thinking, request.thinking_budget) == (
        "math",
        False,
        64,
    )
    assert request.params is not None and request.params.stop == ["END"]
    assert request.params.max_tokens == 9 and request.response_format is None
    assert request.messages[0].role == "system"

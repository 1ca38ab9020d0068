"""Thinking budgets on the OpenAI-compatible backend, on every path: the engine's own
budget field (native), ``continue_final_message`` (continuation), and the restart for
servers that cannot continue — against the loopback vLLM-like server on the tiny
Qwen3, which records every request."""

from __future__ import annotations

from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.continuation import continuation_kind
from qwen_router.tools.budget.controller import BudgetController, generate_with_budget
from qwen_router.types import GenerationParams, Message


def _request(budget: int, *, max_tokens: int | None = None) -> GenerateRequest:
    return GenerateRequest(
        model="qwen3-tiny",
        messages=[Message(role="user", content="Is 91 prime?")],
        params=GenerationParams(max_tokens=max_tokens or budget + 8, seed=0),
        thinking=True,
        thinking_budget=budget,
    )


def _chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.path.endswith("/chat/completions")]


@pytest.fixture
def server(openai_qwen3: Any) -> Any:
    openai_qwen3.reset()
    return openai_qwen3


def _backend(server: Any, **options: Any) -> OpenAIBackend:
    return OpenAIBackend(base_url=server.base_url, api_key="k", timeout=120, **options)


def test_continue_final_message(server: Any) -> None:
    backend = _backend(server)  # engine auto: the probe finds a generic server
    try:
        assert backend.engine_for("qwen3-tiny") == "generic"
        assert continuation_kind(backend, _request(8)) == "raw"
        controller = BudgetController(backend, _request(8))
        result = list(controller.stream())[-1].result
    finally:
        backend.close()
    assert result.thinking_method == "continuation"
    assert result.budget_hit and result.thinking_closed and result.text
    assert 0 < result.usage.thinking_tokens <= 8
    assert result.thinking.endswith(EARLY_STOP_SENTENCE)
    bodies = _chat_bodies(server)
    assert len(bodies) == 2 and all(b.get("continue_final_message") for b in bodies)
    assert all(b.get("echo") for b in bodies)  # a generic engine must echo the prefix
    assert bodies[0]["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    final = bodies[1]["messages"][-1]["content"]
    assert final.startswith("<think>\n") and final.count("</think>") == 1
    assert final.endswith(f"{EARLY_STOP_SENTENCE}\n</think>\n\n")
    assert EARLY_STOP_SENTENCE not in result.text  # the echo was dropped


def test_async_continue_final_message(openai_qwen3: Any, arun_budget: Any) -> None:
    openai_qwen3.reset()
    result = arun_budget(lambda: _backend(openai_qwen3), _request(4))
    assert result.thinking_method == "continuation"
    assert result.budget_hit and 0 < result.usage.thinking_tokens <= 4 and result.text


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"engine": "vllm"}, {"thinking_token_budget": 6}),
        (
            {"engine": "sglang", "strict_thinking": True},
            {"custom_params": {"thinking_budget": 6}},
        ),
    ],
)
def test_native_budget_fields_on_the_wire(
    server: Any, options: dict[str, Any], field: dict[str, Any]
) -> None:
    backend = _backend(server, **options)
    try:
        result = generate_with_budget(backend, _request(6))
    finally:
        backend.close()
    bodies = _chat_bodies(server)
    assert len(bodies) == 1, "the engine enforces the budget: one plain request"
    body = bodies[0]
    assert all(body[k] == v for k, v in field.items())
    assert "continue_final_message" not in body
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert result.thinking_method == "native"


def test_sglang_without_strict_thinking_is_not_native(server: Any) -> None:
    backend = _backend(server, engine="sglang")
    try:
        result = generate_with_budget(backend, _request(4))
    finally:
        backend.close()
    bodies = _chat_bodies(server)
    assert not any("custom_params" in b for b in bodies)
    assert result.thinking_method == "continuation" and len(bodies) == 2


def test_a_server_ignoring_continue_final_message_is_detected(server: Any) -> None:
    """llama-cpp-python's server answers a continuation with a fresh reply: the echo
    check sees it, the controller restarts, and the result says so."""
    server.faults.ignore_continue = True
    backend = _backend(server)
    try:
        controller = BudgetController(backend, _request(6))
        chunks = list(controller.stream())
        again = generate_with_budget(backend, _request(6))
    finally:
        backend.close()
    result = chunks[-1].result
    assert result.thinking_method == "restart"
    assert result.text and EARLY_STOP_SENTENCE not in result.text
    bodies = _chat_bodies(server)
    # pass 1 (its reply is a fresh thinking turn, capped at the budget), the refused
    # continuation, then the answer asked for without thinking
    assert [b.get("continue_final_message", False) for b in bodies[:3]] == [
        True,
        True,
        False,
    ]
    assert bodies[2]["chat_template_kwargs"] == {"enable_thinking": False}
    # budget_hit only when the thought really ran into the budget cap
    assert result.budget_hit == (controller.passes[0].result.finish_reason == "length")
    assert result.usage.thinking_tokens <= 6
    # the server is remembered: the next request restarts without trying
    assert again.thinking_method == "restart"
    later = _chat_bodies(server)[3:]
    assert later and not any(b.get("continue_final_message") for b in later)


def test_a_declared_llamacpp_engine_restarts_at_once(server: Any) -> None:
    backend = _backend(server, engine="llamacpp")
    try:
        result = generate_with_budget(backend, _request(6))
    finally:
        backend.close()
    bodies = _chat_bodies(server)
    assert not any(b.get("continue_final_message") for b in bodies)
    assert bodies[0]["max_tokens"] == 6  # pass 1 capped at the budget
    assert result.thinking_method == "restart"
    assert result.usage.thinking_tokens <= 6 and result.text


def test_llamacpp_declared_reasoning_budget_is_native(server: Any) -> None:
    backend = _backend(server, engine="llamacpp", reasoning_budget=4)
    try:
        native = backend.native_budget(_request(6))
        result = generate_with_budget(backend, _request(6))
    finally:
        backend.close()
    assert native == 4  # llama-server --reasoning-budget 4 is within the ask
    assert len(_chat_bodies(server)) == 1 and result.thinking_method == "native"
    tighter = _backend(server, engine="llamacpp", reasoning_budget=64)
    assert tighter.native_budget(_request(6)) is None  # server allows more than asked


def test_usage_is_requested_and_counted_when_omitted(server: Any) -> None:
    backend = _backend(server)
    request = GenerateRequest(
        model="qwen3-tiny",
        messages=[Message(role="user", content="Count to three, please.")],
        params=GenerationParams(max_tokens=6, seed=0),
        thinking=False,
    )
    try:
        sent = list(backend.stream(request))[-1].result
        server.faults.omit_usage = True
        counted = list(backend.stream(request))[-1].result
        whole = backend.generate(request)
    finally:
        backend.close()
    bodies = _chat_bodies(server)
    assert bodies[0]["stream_options"] == {"include_usage": True}
    assert sent.usage.prompt_tokens > 0 and not sent.usage.estimated
    assert counted.usage.estimated and counted.usage.prompt_tokens > 0
    assert counted.usage.completion_tokens > 0
    assert whole.usage.estimated and whole.usage.prompt_tokens > 0

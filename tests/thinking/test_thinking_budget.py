"""The budget controller on the tiny random Qwen3 (transformers backend).

Random weights never close their thought, so every budget is hit: the controller must
cut the thought at the budget, close it once with Qwen's early-stop sentence and still
produce an answer segment.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from qwen_router.backends.base import Chunk, GenerateRequest
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.controller import (
    BudgetController,
    agenerate_with_budget,
    arun_with_budget,
    delegated_request,
    generate_with_budget,
    run_with_budget,
)
from qwen_router.types import GenerationParams, Message

EMPTY_THOUGHT = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def _request(
    model: str, budget: int | None, *, max_tokens: int | None = None
) -> GenerateRequest:
    return GenerateRequest(
        model=model,
        messages=[Message(role="user", content="What is 17 * 23?")],
        params=GenerationParams(
            max_tokens=max_tokens or (budget or 0) + 8,
            seed=0,
            temperature=0.6,
            top_p=0.95,
            top_k=20,
        ),
        thinking=True,
        thinking_budget=budget,
    )


def _check_protocol(chunks: list[Chunk]) -> Any:
    assert chunks and chunks[-1].done and not any(c.done for c in chunks[:-1])
    result = chunks[-1].result
    assert result is not None
    assert result.text.strip() == "".join(c.text for c in chunks).strip()
    assert (result.thinking or "") == "".join(c.thinking for c in chunks).strip("\n")
    return result


def _check_budget(result: Any, budget: int) -> None:
    assert 0 < result.usage.thinking_tokens <= budget
    assert result.budget_hit and result.thinking_closed
    assert result.thinking.endswith(EARLY_STOP_SENTENCE)
    assert result.text, "an answer segment follows the forced close"
    assert result.usage.completion_tokens > result.usage.thinking_tokens
    assert (
        result.usage.prompt_tokens > 0 and result.generate_ms >= result.thinking_ms > 0
    )


@pytest.mark.parametrize("budget", [1, 16, 64])
def test_streaming_budget_holds(hf_backend: Any, qwen3: str, budget: int) -> None:
    request = _request(qwen3, budget)
    assert delegated_request(hf_backend, request) is None  # run_with_budget controls it
    controller = BudgetController(hf_backend, request)
    result = _check_protocol(list(controller.stream()))
    _check_budget(result, budget)
    assert result.usage.thinking_tokens == budget  # transformers counts tokens exactly
    prompt = hf_backend.render_prompt(request)
    assert prompt.endswith("<|im_start|>assistant\n")  # enable_thinking=True
    continuation = controller.transcript
    assert result.thinking_method == "continuation"
    assert continuation.startswith("<think>\n")  # the controller opened the thought
    assert continuation.count("</think>") == 1
    thought, answer = continuation.split("</think>")
    assert EARLY_STOP_SENTENCE in thought and answer.strip()
    assert [p.phase for p in controller.passes] == ["think", "answer"]
    assert controller.passes[0].result.usage.completion_tokens == budget


@pytest.mark.parametrize("budget", [1, 16, 64])
def test_non_streaming_budget_holds(hf_backend: Any, qwen3: str, budget: int) -> None:
    result = generate_with_budget(hf_backend, _request(qwen3, budget))
    _check_budget(result, budget)


def test_budget_zero_is_thinking_off(hf_backend: Any, qwen3: str) -> None:
    request = _request(qwen3, 0, max_tokens=8)
    plain = delegated_request(hf_backend, request)
    assert plain is not None and plain.thinking is False
    prompt = hf_backend.render_prompt(plain)
    assert prompt.endswith(EMPTY_THOUGHT) and prompt.count("</think>") == 1
    result = generate_with_budget(hf_backend, request)
    assert result.usage.thinking_tokens == 0 and not result.budget_hit
    streamed = _check_protocol(list(run_with_budget(hf_backend, request)))
    assert streamed.usage.thinking_tokens == 0 and not streamed.budget_hit


def test_max_tokens_below_the_budget_still_answers(hf_backend: Any, qwen3: str) -> None:
    result = generate_with_budget(hf_backend, _request(qwen3, 64, max_tokens=12))
    assert result.usage.thinking_tokens == 12 and result.budget_hit and result.text


def test_nothing_to_control_is_delegated(
    hf_backend: Any, qwen3: str, tiny_qwen2: Any
) -> None:
    unlimited = _request(qwen3, None)
    assert delegated_request(hf_backend, unlimited) is unlimited
    off = unlimited.model_copy(update={"thinking": False, "thinking_budget": 16})
    assert delegated_request(hf_backend, off) is off
    qwen25 = _request(str(tiny_qwen2), 16)
    plain = delegated_request(hf_backend, qwen25)  # a model without thinking
    assert (
        plain is not None and plain.thinking is None and plain.thinking_budget is None
    )


def test_async_paths_hold_the_budget(hf_backend: Any, qwen3: str) -> None:
    async def run() -> tuple[list[Chunk], Any]:
        chunks = [c async for c in arun_with_budget(hf_backend, _request(qwen3, 16))]
        return chunks, await agenerate_with_budget(hf_backend, _request(qwen3, 1))

    chunks, result = asyncio.run(run())
    _check_budget(_check_protocol(chunks), 16)
    _check_budget(result, 1)

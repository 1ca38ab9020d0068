"""The controller on the OpenAI-compatible backend: the ``stream_continuation`` hook
(vLLM's ``continue_final_message``) on a loopback server with the tiny Qwen3."""

from __future__ import annotations

from typing import Any

from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.thinking_budget import BudgetController
from qwen_router.tools.thinking_continuation import continuation_kind
from qwen_router.types import GenerationParams, Message


def _request(budget: int) -> GenerateRequest:
    return GenerateRequest(
        model="qwen3-tiny",
        messages=[Message(role="user", content="What is 2+2?")],
        params=GenerationParams(max_tokens=budget + 8, seed=0),
        thinking=True,
        thinking_budget=budget,
    )


def test_continue_final_message(openai_qwen3: Any) -> None:
    backend = OpenAIBackend(base_url=openai_qwen3.base_url, api_key="k", timeout=120)
    openai_qwen3.reset()
    try:
        assert continuation_kind(backend, _request(8)) == "prefix"
        controller = BudgetController(backend, _request(8))
        result = list(controller.stream())[-1].result
    finally:
        backend.close()
    assert result.budget_hit and result.thinking_closed and result.text
    assert 0 < result.usage.thinking_tokens <= 8
    assert result.thinking.endswith(EARLY_STOP_SENTENCE)
    bodies = [
        r.body for r in openai_qwen3.requests if r.path.endswith("/chat/completions")
    ]
    assert len(bodies) == 2 and all(b.get("continue_final_message") for b in bodies)
    assert bodies[0]["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    final = bodies[1]["messages"][-1]["content"]
    assert final.startswith("<think>\n") and final.count("</think>") == 1
    assert final.endswith(f"{EARLY_STOP_SENTENCE}\n</think>\n\n")


def test_async_continue_final_message(openai_qwen3: Any, arun_budget: Any) -> None:
    def make() -> OpenAIBackend:
        return OpenAIBackend(base_url=openai_qwen3.base_url, api_key="k", timeout=120)

    result = arun_budget(make, _request(4))
    assert result.budget_hit and 0 < result.usage.thinking_tokens <= 4 and result.text

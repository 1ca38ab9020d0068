"""The controller on the Ollama backend (no ``render_prompt``).

ChatML is rendered by the controller and continued through ``/api/generate`` with
``raw: true`` on a loopback Ollama-protocol server."""

from __future__ import annotations

from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.chatml import render_chatml
from qwen_router.backends.ollama import OllamaBackend
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.controller import BudgetController
from qwen_router.types import GenerationParams, Message

MESSAGES = [
    Message(role="system", content="Be brief."),
    Message(role="user", content="What is 2+2?"),
    Message(role="assistant", content="<think>\nsimple\n</think>\n\n4"),
    Message(role="user", content="And 3+3?"),
]


@pytest.mark.parametrize("thinking", [True, False])
def test_chatml_matches_the_qwen3_template(
    hf_backend: Any, qwen3: str, thinking: bool
) -> None:
    request = GenerateRequest(model=qwen3, messages=MESSAGES, thinking=thinking)
    assert render_chatml(MESSAGES, thinking=thinking) == hf_backend.render_prompt(
        request
    )


def _request(budget: int) -> GenerateRequest:
    return GenerateRequest(
        model="qwen3:tiny",
        messages=MESSAGES,
        params=GenerationParams(max_tokens=budget + 8, seed=0),
        thinking=True,
        thinking_budget=budget,
    )


def test_raw_continuation_on_ollama(ollama_qwen3: Any) -> None:
    backend = OllamaBackend(host=ollama_qwen3.host)
    try:
        controller = BudgetController(backend, _request(8))
        chunks = list(controller.stream())
    finally:
        backend.close()
    result = chunks[-1].result
    assert result is not None and result.budget_hit and result.thinking_closed
    assert 0 < result.usage.thinking_tokens <= 8  # eval_count of the thinking pass
    assert result.text and result.thinking.endswith(EARLY_STOP_SENTENCE)
    raw = [body for path, body in ollama_qwen3.requests if path == "/api/generate"]
    assert len(raw) == 2 and all(body["raw"] for body in raw)
    assert raw[0]["prompt"] == render_chatml(MESSAGES, thinking=True) + "<think>\n"
    continuation = controller.transcript
    assert result.thinking_method == "continuation"
    assert (
        continuation.count("</think>") == 1
        and continuation.split("</think>")[1].strip()
    )


def test_async_raw_continuation_on_ollama(ollama_qwen3: Any, arun_budget: Any) -> None:
    result = arun_budget(lambda: OllamaBackend(host=ollama_qwen3.host), _request(4))
    assert result.budget_hit and 0 < result.usage.thinking_tokens <= 4 and result.text

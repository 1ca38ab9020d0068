"""Model and backend variants: a Thinking-2507 template that opens ``<think>`` itself,
and a backend without raw continuation (the chat fallback)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.ollama import OllamaBackend
from qwen_router.policy import decide
from qwen_router.profiles import Profile
from qwen_router.testing.tiny import QWEN3_CHAT_TEMPLATE
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.controller import BudgetController, generate_with_budget
from qwen_router.types import GenerationParams, Message, RouteDecision, RouteRequest

# The hybrid template with a generation prompt that always opens the thought.
THINKING_2507_TEMPLATE = QWEN3_CHAT_TEMPLATE.replace(
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}",
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}",
)


@pytest.fixture(scope="module")
def thinking_2507(tiny_qwen3: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny Qwen3 renamed and re-templated as a ``-Thinking-2507`` model."""
    assert THINKING_2507_TEMPLATE != QWEN3_CHAT_TEMPLATE
    folder = tmp_path_factory.mktemp("variants") / "Qwen3-Tiny-Thinking-2507"
    shutil.copytree(tiny_qwen3, folder)
    (folder / "chat_template.jinja").write_text(
        THINKING_2507_TEMPLATE, encoding="utf-8"
    )
    return str(folder)


def _request(model: str, budget: int, *, max_tokens: int = 24) -> GenerateRequest:
    return GenerateRequest(
        model=model,
        messages=[Message(role="user", content="What is 2+2?")],
        params=GenerationParams(max_tokens=max_tokens, seed=0),
        thinking=True,
        thinking_budget=budget,
    )


def test_policy_keeps_a_thinking_2507_model_thinking(thinking_2507: str) -> None:
    route = {"model": f"hf:{thinking_2507}", "thinking": {"mode": "off"}}
    profile = Profile.model_validate({"name": "t", "routes": {"general": route}})
    decision = RouteDecision(route="general", confidence=1.0)
    messages = [Message(role="user", content="hi /no_think")]
    _, selection = decide(decision, profile, RouteRequest(messages=messages))
    assert selection.thinking is True and selection.params.temperature == 0.6


@pytest.mark.parametrize("budget", [0, 8])
def test_template_opened_thought(
    hf_backend: Any, thinking_2507: str, budget: int
) -> None:
    request = _request(thinking_2507, budget)
    controller = BudgetController(hf_backend, request)
    result = list(controller.stream())[-1].result
    assert hf_backend.render_prompt(request).endswith(
        "<|im_start|>assistant\n<think>\n"
    )
    continuation = controller.transcript
    assert "<think>" not in continuation  # not opened twice
    assert continuation.count("</think>") == 1 and continuation.split("</think>")[1]
    assert result.budget_hit and result.usage.thinking_tokens == budget and result.text
    assert result.thinking.endswith(EARLY_STOP_SENTENCE)


class _ChatOnlyOllama(OllamaBackend):
    """The real Ollama backend, saying it cannot continue a raw prompt."""

    def can_continue_raw(self, request: Any) -> bool:
        return False


def test_backend_without_continuation_answers_without_thinking(
    ollama_qwen3: Any,
) -> None:
    backend = _ChatOnlyOllama(host=ollama_qwen3.host)
    ollama_qwen3.reset()
    try:
        result = generate_with_budget(backend, _request("qwen3:tiny", 8))
    finally:
        backend.close()
    assert result.budget_hit and result.thinking_closed and result.text
    assert result.thinking_method == "restart"
    assert 0 < result.usage.thinking_tokens <= 8
    calls = [body for path, body in ollama_qwen3.requests if path == "/api/chat"]
    assert [c.get("think") for c in calls] == [True, False]
    assert calls[0]["options"]["num_predict"] == 8

"""The thinking budget on a tiny random Qwen3.5 (Gated DeltaNet architecture, real
Qwen3.5 vocabulary): its template opens ``<think>`` itself and ``</think>`` is token
248069, read from the tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qwen_router.backends.base import GenerateRequest
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.controller import BudgetController
from qwen_router.types import GenerationParams, Message


def test_budget_on_a_template_opened_qwen35_thought(
    hf_backend: Any, tiny_qwen35: Path
) -> None:
    request = GenerateRequest(
        model=str(tiny_qwen35),
        messages=[Message(role="user", content="Is 91 prime?")],
        params=GenerationParams(max_tokens=12, seed=0),
        thinking=True,
        thinking_budget=4,
    )
    assert hf_backend.render_prompt(request).endswith(
        "<|im_start|>assistant\n<think>\n"
    )
    assert hf_backend.starts_in_thinking(request)
    controller = BudgetController(hf_backend, request)
    result = list(controller.stream())[-1].result
    assert result.thinking_method == "continuation"
    assert result.budget_hit and result.usage.thinking_tokens == 4
    assert result.thinking.endswith(EARLY_STOP_SENTENCE) and result.text
    assert "<think>" not in controller.transcript  # not opened twice
    # the thought was closed with the real </think> token of this vocabulary
    loaded = hf_backend.render_prompt(request) + controller.transcript
    tokenizer = __import__("transformers").AutoTokenizer.from_pretrained(
        str(tiny_qwen35)
    )
    assert tokenizer(loaded)["input_ids"].count(248069) == 1

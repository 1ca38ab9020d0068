"""End to end through ``Router``: a profile route on the tiny Qwen3 with a budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from qwen_router.core import Router
from qwen_router.thinking import EARLY_STOP_SENTENCE

BUDGET = 16


@pytest.fixture(scope="module")
def router(tiny_qwen3: Path, tmp_path_factory: pytest.TempPathFactory) -> Router:
    route = (
        f"    model: hf:{tiny_qwen3}\n"
        f'    thinking: {{mode: "on", budget: {BUDGET}}}\n'
        "    params: {max_tokens: 24, seed: 0}\n"
    )
    path = tmp_path_factory.mktemp("thinking-profile") / "think.yaml"
    path.write_text(
        "name: think\nclassifier: {embedding: false}\n"
        "backends:\n  hf: {device: cpu, dtype: float32}\n"
        f"routes:\n  general:\n{route}  math:\n{route}",
        encoding="utf-8",
    )
    with Router(path) as r:
        yield r


def test_route_budget_is_enforced(router: Router) -> None:
    result = router.invoke("What is the capital of France?")
    assert result.thinking_budget_hit
    assert 0 < result.usage.thinking_tokens <= BUDGET
    assert result.thinking and result.thinking.endswith(EARLY_STOP_SENTENCE)
    assert result.answer and "</think>" not in result.answer
    assert result.timings.thinking_ms > 0
    select = next(e for e in result.trace if e.node == "select")
    assert select.detail["thinking"] is True
    assert any("temperature" in r for r in select.detail["reasons"])  # Qwen defaults


def test_request_budget_and_overrides(router: Router) -> None:
    small = router.invoke("What is 2+2?", thinking_budget=2)
    assert small.thinking_budget_hit and 0 < small.usage.thinking_tokens <= 2
    off = router.invoke("What is 2+2?", thinking=False)
    assert off.usage.thinking_tokens == 0 and not off.thinking_budget_hit
    soft = router.invoke("What is 2+2? /no_think")
    assert soft.usage.thinking_tokens == 0 and not soft.thinking_budget_hit


def test_streamed_events_carry_the_thought(router: Router) -> None:
    events = list(router.stream("What is 2+2?", thinking_budget=4))
    thinking = "".join(e.thinking for e in events if e.type == "token")
    result = next(e.result for e in events if e.type == "result")
    assert result is not None and result.thinking == thinking.strip("\n")
    assert result.usage.thinking_tokens <= 4 and result.thinking_budget_hit

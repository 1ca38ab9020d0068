"""The two-pass state machine on its own: every branch, driven by real result types."""

from __future__ import annotations

from qwen_router.backends.base import Chunk, GenerateRequest, GenerateResult
from qwen_router.thinking import EARLY_STOP_SENTENCE
from qwen_router.tools.budget.plan import BudgetPlan
from qwen_router.types import GenerationParams, Message, Usage


def _plan(
    kind: str = "raw", *, budget: int = 10, max_tokens: int | None = 40
) -> BudgetPlan:
    request = GenerateRequest(
        model="m",
        messages=[Message(role="user", content="q")],
        params=GenerationParams(max_tokens=max_tokens),
        thinking=True,
        thinking_budget=budget,
    )
    return BudgetPlan(request=request, budget=budget, kind=kind)  # type: ignore[arg-type]


def _result(
    tokens: int, thinking_tokens: int, *, closed: bool, finish: str, opened: bool = True
) -> GenerateResult:
    return GenerateResult(
        text="",
        thinking="t" if opened else None,
        usage=Usage(
            prompt_tokens=5, completion_tokens=tokens, thinking_tokens=thinking_tokens
        ),
        thinking_closed=closed,
        finish_reason=finish,
        model="m",
        backend="b",
    )


def test_a_thought_closed_within_the_budget_is_one_pass() -> None:
    plan = _plan(budget=10, max_tokens=10)
    step, _ = plan.first()
    assert step.params.max_tokens == 10 and step.prefix == "<think>\n"
    plan.feed(Chunk(thinking="short\n", text="4"))
    step, _ = plan.end_pass(_result(8, 4, closed=True, finish="stop"))
    result = plan.result()
    assert step is None and (result.text, result.thinking) == ("4", "short")
    assert not result.budget_hit and result.thinking_closed
    assert result.usage == Usage(
        prompt_tokens=5, completion_tokens=8, thinking_tokens=4
    )


def test_an_answer_cut_by_the_budget_cap_is_continued() -> None:
    plan = _plan(budget=10, max_tokens=40)
    plan.first()
    plan.feed(Chunk(thinking="idea\n", text="The ans"))
    step, _ = plan.end_pass(_result(10, 6, closed=True, finish="length"))
    assert step is not None and step.phase == "answer" and not step.in_thinking
    assert step.prefix == "<think>\nidea\n</think>\n\nThe ans"
    assert step.params.max_tokens == 30
    plan.feed(Chunk(text="wer is 4."))
    assert plan.end_pass(_result(5, 0, closed=False, finish="stop"))[0] is None
    result = plan.result()
    assert result.text == "The answer is 4." and not result.budget_hit
    assert result.usage.thinking_tokens == 6 and result.usage.completion_tokens == 15


def test_an_unclosed_thought_is_closed_with_the_early_stop_sentence() -> None:
    plan = _plan(budget=10, max_tokens=12)
    plan.first()
    plan.feed(Chunk(thinking="going on"))
    step, emitted = plan.end_pass(_result(10, 10, closed=False, finish="length"))
    assert step is not None and step.prefix.endswith(
        f"{EARLY_STOP_SENTENCE}\n</think>\n\n"
    )
    assert step.params.max_tokens == 3  # a quarter of max_tokens at least
    assert [c.thinking for c in emitted] == [f"\n\n{EARLY_STOP_SENTENCE}\n"]
    plan.feed(Chunk(thinking="stray", text=" answer"))  # after the close: all answer
    plan.end_pass(_result(3, 0, closed=False, finish="length"))
    result = plan.result()
    assert result.budget_hit and result.text == "stray answer"
    assert result.thinking == f"going on\n\n{EARLY_STOP_SENTENCE}"


def test_a_model_that_stops_inside_its_thought_is_closed_without_the_sentence() -> None:
    plan = _plan()
    plan.first()
    plan.feed(Chunk(thinking="done?"))
    step, emitted = plan.end_pass(_result(3, 3, closed=False, finish="stop"))
    assert (
        step is not None
        and step.prefix == "<think>\ndone?\n</think>\n\n"
        and not emitted
    )
    assert not plan.budget_hit


def test_budget_zero_closes_at_once_and_a_template_opened_thought_is_not_reopened() -> (
    None
):
    plan = _plan(budget=0)
    plan.opened_by_template = True
    step, emitted = plan.first()
    assert step.phase == "answer" and step.prefix.startswith(
        "\n\n" + EARLY_STOP_SENTENCE
    )
    assert "<think>" not in step.prefix and plan.budget_hit and emitted


def test_chat_fallback() -> None:
    direct = _plan("chat")
    step, _ = direct.first()
    assert step.prefix == "" and step.chat_thinking
    assert direct.feed(Chunk(text="4")) is None  # held until the pass is kept
    step, emitted = direct.end_pass(
        _result(2, 0, closed=False, finish="stop", opened=False)
    )
    assert step is None and [c.text for c in emitted] == ["4"]
    cut = _plan("chat")
    cut.first()
    cut.feed(Chunk(thinking="long"))
    step, _ = cut.end_pass(_result(10, 10, closed=False, finish="length"))
    assert step is not None and step.chat_thinking is False and cut.budget_hit

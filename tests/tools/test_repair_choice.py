"""Which attempt the user gets after a repair (pure decision, no model)."""

from __future__ import annotations

from qwen_router.tools.math.repair import choose_repair, restates

FEEDBACK = (
    "A checker looked at your answer and found a problem: the final answer 5 differs "
    "from the reference 7\nRe-check your work step by step and give the corrected final "
    "answer as \\boxed{ANSWER}."
)


def test_a_repair_that_parrots_the_checker_is_never_preferred() -> None:
    parrot = "A checker looked at your answer and found a problem: the final answer 5 differs"
    choice = choose_repair("refuted", "unverifiable", parrot, feedback=FEEDBACK)
    assert not choice.keep_repair and choice.parroted
    assert "repeated the checker" in choice.note


def test_a_real_repair_that_ranks_higher_wins() -> None:
    choice = choose_repair(
        "refuted",
        "verified",
        "Let me redo it: 3 + 4 = 7, so \\boxed{7}.",
        feedback=FEEDBACK,
    )
    assert choice.keep_repair and not choice.parroted and choice.note == ""


def test_a_repair_that_ranks_lower_loses() -> None:
    choice = choose_repair("unverifiable", "refuted", "\\boxed{9}", feedback=FEEDBACK)
    assert not choice.keep_repair


def test_a_truncated_repair_is_flagged_and_kept_only_when_verified() -> None:
    cut = choose_repair(
        "refuted", "unverifiable", "Let me redo", finish_reason="length"
    )
    assert cut.truncated and not cut.keep_repair and "cut off" in cut.note
    ok = choose_repair("refuted", "verified", "\\boxed{7}", finish_reason="length")
    assert ok.truncated and ok.keep_repair and "cut off" in ok.note


def test_restates_needs_a_long_stretch() -> None:
    assert not restates("The answer is 7.", FEEDBACK)
    assert restates(FEEDBACK.upper(), FEEDBACK)
    assert not restates("", FEEDBACK)

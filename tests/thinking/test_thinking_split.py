"""The one shared splitter: whole responses and streams, tags split across chunks."""

from __future__ import annotations

import pytest
from qwen_router.thinking import ThinkSplitter, split_thinking

FULL = "<think>\nstep one, step two\n</think>\n\nThe answer is 4."


def _stream(
    pieces: list[str], *, in_thinking: bool = False
) -> tuple[str, str, ThinkSplitter]:
    splitter = ThinkSplitter(in_thinking=in_thinking)
    thinking, answer = "", ""
    for piece in pieces:
        t, a = splitter.feed(piece)
        thinking, answer = thinking + t, answer + a
    t, a = splitter.flush()
    return thinking + t, answer + a, splitter


def test_full_response() -> None:
    assert split_thinking(FULL) == ("step one, step two", "The answer is 4.")
    assert split_thinking("no thought here") == (None, "no thought here")


@pytest.mark.parametrize("cut", range(1, len(FULL)))
def test_every_two_chunk_split_gives_the_same_result(cut: int) -> None:
    thinking, answer, splitter = _stream([FULL[:cut], FULL[cut:]])
    assert thinking.strip("\n") == "step one, step two"
    assert answer.strip() == "The answer is 4."
    assert splitter.opened and splitter.closed


def test_character_by_character_stream() -> None:
    thinking, answer, _ = _stream(list(FULL))
    assert (thinking.strip("\n"), answer.strip()) == (
        "step one, step two",
        "The answer is 4.",
    )


def test_thinking_2507_output_carries_only_the_close() -> None:
    text = "the template opened it\n</think>\n\n42"
    assert split_thinking(text) == ("the template opened it", "42")
    thinking, answer, splitter = _stream(
        ["the template opened it\n</th", "ink>\n\n42"], in_thinking=True
    )
    assert (thinking.strip("\n"), answer.strip(), splitter.closed) == (
        "the template opened it",
        "42",
        True,
    )


def test_a_thought_that_never_closes_stays_thinking() -> None:
    thinking, answer, splitter = _stream(["<think>\nstill going </thi"])
    assert answer == "" and not splitter.closed
    assert thinking.endswith("</thi")

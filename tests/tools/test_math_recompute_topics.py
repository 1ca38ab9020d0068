"""No-reference recomputation of probability, conditional counting and geometry questions
(issue 16's coverage): right answers verified, wrong ones refuted, other shapes declined."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")
pytest.importorskip("math_verify")

from qwen_router.tools.math import verify  # noqa: E402
from qwen_router.tools.math.dispatch import recognize_any  # noqa: E402

CASES = [
    (
        "A number is selected at random from 1 through 100, inclusive.  What is the "
        "probability that the number is a multiple of 3?",
        r"\frac{33}{100}",
        r"\frac{1}{3}",
    ),
    (
        "What is the number of square units in the area of a triangle whose sides measure "
        "5, 5 and 6 units?",
        "12",
        "15",
    ),
    (
        "In how many ways can 6 girls and 2 boys sit in a row if the 2 boys insist on "
        "sitting next to each other?",
        r"10,\!080",
        "40320",
    ),
    (
        "Suppose that I have $6$ different books, $2$ of which are math books. In how many "
        "ways can I stack my $6$ books on a shelf if I do not want the math books to be "
        "next to each other?",
        "480",
        "240",
    ),
    (
        "If no one shares an office, in how many ways can 3 people be assigned to 5 "
        "different offices? (Each person gets exactly one office).",
        "60",
        "125",
    ),
    (
        "How many ways are there to put 5 balls in 2 boxes if the balls are not "
        "distinguishable and neither are the boxes?",
        "3",
        "6",
    ),
    (
        "A class of 30 students recently took a test.  If 20 students scored 80, 8 "
        "students scored 90, and 2 students scored 100, then what was the class average "
        "(the mean) on this test?",
        "84",
        "90",
    ),
    ("What is the area of a circle with radius 3?", r"9\pi", r"6\pi"),
    ("What is the volume of a sphere with radius 3?", r"36\pi", r"27\pi"),
    ("Find the hypotenuse of a right triangle with legs 5 and 12.", "13", "17"),
]


@pytest.mark.parametrize(("question", "right", "wrong"), CASES)
def test_recomputed(question: str, right: str, wrong: str) -> None:
    assert (
        verify(question, f"So the answer is $\\boxed{{{right}}}$.").status == "verified"
    )
    assert (
        verify(question, f"So the answer is $\\boxed{{{wrong}}}$.").status == "refuted"
    )


@pytest.mark.parametrize(
    "question",
    [
        # an extra condition or missing number: declined rather than guessed
        "A number is selected at random from 1 through 100. What is the probability that "
        "the number is a multiple of 3 and odd?",
        "What is the area of a triangle whose sides measure 1, 2 and 10 units?",
        "In how many ways can 6 girls and 2 boys sit in a row if the 2 boys sit next to "
        "each other and the girls sit apart?",
        "How many ways are there to put 5 balls in 2 boxes?",
    ],
)
def test_other_shapes_are_declined(question: str) -> None:
    assert verify(question, r"$\boxed{12}$").status == "unverifiable"


def test_triangle_inequality_is_checked_before_heron() -> None:
    task = recognize_any(
        "What is the area of a triangle whose sides measure 1, 2 and 10 units?"
    )
    assert task is not None and task.data["shape"] == "heron"

"""No-reference recomputation by the topic recognisers (number theory, counting, series,
systems, coordinates) and the arithmetic-step check, on real sympy through the worker
pool. Every question here is written for these tests."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")
pytest.importorskip("math_verify")

from qwen_router.tools.math import verify  # noqa: E402
from qwen_router.tools.math.answer.steps import check_steps, evaluate  # noqa: E402
from qwen_router.tools.math.dispatch import recognize_any  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def _boxed(ans: str) -> str:
    return f"Working it out step by step, the answer is $\\boxed{{{ans}}}$."


# (question, right answer, wrong answer, method)
CASES = [
    # number theory
    (
        r"What is the remainder when $7^{100} + 3$ is divided by $5$?",
        "4",
        "3",
        "sympy:remainder",
    ),
    (
        r"Find the remainder when $x^3 + 2x + 1$ is divided by $x - 1$.",
        "4",
        "2",
        "sympy:remainder",
    ),
    (r"What is $2^{20} \pmod{7}$?", "4", "1", "sympy:remainder"),
    (
        r"Find the modulo $9$ remainder of $1 + 2 + 3 + \dots + 40$.",
        "1",
        "0",
        "sympy:remainder",
    ),
    ("Determine the remainder of 100 (mod 7).", "2", "3", "sympy:remainder"),
    (
        r"Compute $17^{-1} \pmod{60}$. Express your answer as an integer from $0$ to $59$.",
        "53",
        "7",
        "sympy:mod-inverse",
    ),
    (
        r"What integer $m$ satisfies $0 \le m < 11$ and $m \equiv 1000 \pmod{11}$?",
        "10",
        "1",
        "sympy:congruence",
    ),
    (
        r"What is the smallest positive integer solution to the congruence $4x \equiv 6 \pmod{10}$?",
        "4",
        "9",
        "sympy:congruence",
    ),
    ("What is the greatest common divisor of 84 and 126?", "42", "21", "sympy:gcd"),
    (
        r"Find the least common multiple of $4$, $6$, and $10$.",
        "60",
        "240",
        "sympy:lcm",
    ),
    ("How many positive divisors does 360 have?", "24", "20", "sympy:divisors"),
    ("What is the sum of the positive divisors of 28?", "56", "28", "sympy:divisors"),
    ("What is the sum of the proper divisors of 28?", "28", "56", "sympy:divisors"),
    ("What is the largest prime factor of 1001?", "13", "11", "sympy:prime-factors"),
    (
        "What is the sum of the distinct prime factors of 360?",
        "10",
        "12",
        "sympy:prime-factors",
    ),
    (r"What is the units digit of $3^{2023}$?", "7", "3", "sympy:digits"),
    (r"Convert $1234_5$ to base 10.", "194", "193", "sympy:base"),
    (r"Express $100_{10}$ in base 3.", "10201_3", "10202_3", "sympy:base"),
    (r"Express the sum $101_2 + 11_2$ in base 2.", "1000_2", "1001_2", "sympy:base"),
    # counting
    (
        "How many ways are there to arrange the letters of the word BANANA?",
        "60",
        "720",
        "sympy:arrangements",
    ),
    ("In how many ways can I choose 3 of my 9 books?", "84", "504", "sympy:binomial"),
    (
        "In how many ways can 5 people stand in a line?",
        "120",
        "24",
        "sympy:permutations",
    ),
    # evaluation: series with an ellipsis, a \left( that is not an inequality
    (r"Compute $2 + 4 + 6 + \dots + 100$.", "2550", "2500", "sympy:series"),
    (r"Evaluate $1 - 3 + 5 - 7 + \cdots + 49 - 51$.", "-26", "26", "sympy:series"),
    (r"Compute $1 + 2 + 4 + \cdots + 256$.", "511", "512", "sympy:series"),
    (
        r"What is $\left(\frac{2}{3}\right)^{3} \cdot \left(\frac{3}{2}\right)^{2}$?",
        r"\frac{2}{3}",
        r"\frac{3}{2}",
        "sympy:evaluate",
    ),
    # systems and function values
    (
        r"If $x + y = 10$ and $x - y = 4$, what is the value of $x$?",
        "7",
        "3",
        "sympy:system",
    ),
    (r"If $x + y = 10$ and $x - y = 4$, what is $xy$?", "21", "24", "sympy:system"),
    (
        r"Let $a$ and $b$ be positive real numbers such that $ab = 6$ and $a + b = 5$. Find $a^2 + b^2$.",
        "13",
        "25",
        "sympy:system",
    ),
    (
        r"If $g(x) = px^2 + 3$ and $g(2) = 11$, what is $g(-2)$?",
        "11",
        "-5",
        "sympy:system",
    ),
    (
        r"If $2x = 3y$ and $3y = 4z$, what is the value of $\frac{z}{x}$?",
        r"\frac{1}{2}",
        "2",
        "sympy:system",
    ),
    # coordinates and vectors
    (
        r"What is the distance between the points $(1, 2)$ and $(4, 6)$?",
        "5",
        "7",
        "sympy:distance",
    ),
    (
        r"What is the slope of the line through the points $(1, 2)$ and $(3, 8)$?",
        "3",
        "2",
        "sympy:slope",
    ),
    (
        r"Find the dot product of $\begin{pmatrix} 1 \\ -2 \end{pmatrix}$ and $\begin{pmatrix} 4 \\ 5 \end{pmatrix}.$",
        "-6",
        "6",
        "sympy:dot-product",
    ),
    (
        r"What is the positive square root of the product $2 \times 8 \times 9$?",
        "12",
        "144",
        "sympy:evaluate",
    ),
]


@pytest.mark.parametrize(("question", "right", "wrong", "method"), CASES)
def test_right_answer_is_verified_and_wrong_one_refuted(
    question: str, right: str, wrong: str, method: str
) -> None:
    good = verify(question, _boxed(right))
    assert good.status == "verified", (good.explanation, good.expected)
    assert good.method == method
    bad = verify(question, _boxed(wrong))
    assert bad.status == "refuted", (bad.explanation, bad.expected)


@pytest.mark.parametrize(
    "question",
    [
        "How many divisors does 12 have?",  # positive only? negatives too? not said
        "What is the sum of the prime factors of 12?",  # with or without repetition
        "What is the remainder when Tom's age is divided by 3?",
        "How many ways are there to choose 2 captains from a team of 11 players?",
        "In how many ways can 5 people sit around a round table?",
        "In how many ways can 6 people stand in a line if Ann must be first?",
        r"Compute $1 + 2 + \dots + 10$.",  # two terms: arithmetic or geometric?
        r"Compute $1 + 2 + 4 + \dots + 100$.",  # 100 is not a term of the series
        r"If $x + y = 10$, what is the value of $x$?",  # underdetermined
        r"If $x^2 = 9$, what is the value of $x$?",  # two values
        r"Express $999$ in base 6. Express your answer in base 7.",
        r"What integer $n$ satisfies $0 \le n < 30$ and $n \equiv 4 \pmod{10}$?",  # three
    ],
)
def test_ambiguous_questions_stay_unverifiable(question: str) -> None:
    res = verify(question, _boxed("3"))
    assert res.status == "unverifiable", (res.method, res.expected, res.explanation)


def test_base_answer_in_another_base_is_not_judged() -> None:
    q = r"Express $100_{10}$ in base 3."
    assert verify(q, _boxed("10201")).status == "verified"
    assert verify(q, _boxed("100_{10}")).status == "unverifiable"


def test_huge_exponents_reduce_modularly_and_fast() -> None:
    q = r"What is the remainder when $2^{100000000}$ is divided by $7$?"
    res = verify(q, _boxed("2"), timeout_s=3)
    assert res.status == "verified"
    q = r"What is the units digit of $7^{99999999999}$?"
    assert verify(q, _boxed("3"), timeout_s=3).status == "verified"


def test_recognisers_are_pure_text_and_reject_word_problems() -> None:
    assert (
        recognize_any("Sam has 12 apples and gives away 5. How many are left?") is None
    )
    task = recognize_any(r"Convert $1234_5$ to base 10.")
    assert task is not None and task.kind == "nt-base"


# -- arithmetic steps (GSM8K) -----------------------------------------------------------

GSM_Q = (
    "Mia buys 4 boxes of 12 pens and gives away 15 pens. How many pens does she keep?"
)


def test_correct_gsm8k_steps_are_checked_but_never_verified() -> None:
    sol = (
        "She buys 4*12=<<4*12=48>>48 pens.\n"
        "She keeps 48-15=<<48-15=33>>33 pens.\n#### 33"
    )
    res = verify(GSM_Q, sol)
    assert res.status == "unverifiable"
    assert res.method == "arithmetic-steps"
    assert "all 2 arithmetic steps check out" in res.explanation


def test_a_wrong_gsm8k_step_is_refuted() -> None:
    sol = "She buys 4*12=<<4*12=46>>46 pens.\nShe keeps 46-15=<<46-15=31>>31 pens.\n#### 31"
    res = verify(GSM_Q, sol)
    assert res.status == "refuted"
    assert "4*12 = 46" in res.explanation


@pytest.mark.parametrize(
    "text",
    [
        "Each share is 10/3=<<10/3=3.33>>3.33 dollars.",  # rounded to cents
        "Each share is 10/3=<<10/3=3.3>>3.3 dollars.",
        "The tip is 20% of 45 so .2*45=<<.2*45=9>>9 dollars.",
        "He pays $3 x 4 = $12 for the cups and 1,200 + 300 = 1,500 in total.",
        "Anne is 2*36 = <<72=72>>72 inches tall, so Jo is 72-2=<<72-2=70>>70 inches.",
    ],
)
def test_gsm8k_formats_are_not_refuted(text: str) -> None:
    result = check_steps(text)
    assert result is not None and result[0] == "unverifiable", result


def test_step_evaluator_is_exact_and_refuses_non_arithmetic() -> None:
    assert evaluate("(1+2)*3/4") == pytest.approx(2.25)
    assert str(evaluate("1/3+1/6")) == "1/2"
    with pytest.raises(ValueError):
        evaluate("__import__('os')")
    assert check_steps("Let x = 5 and so y = 2x.") is None

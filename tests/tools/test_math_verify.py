"""The math verifier on real sympy and math-verify: extraction, equivalence, recomputation,
safety. Calls go through the real worker pool (separate processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("sympy")
pytest.importorskip("math_verify")

from qwen_router.tools.math import verify  # noqa: E402
from qwen_router.tools.math.answer.extract import extract_answer, split_label  # noqa: E402
from qwen_router.tools.verifiers import get_verifier  # noqa: E402
from qwen_router.types import Verification  # noqa: E402

pytestmark = pytest.mark.timeout(120)

SEED_Q = "Find the derivative of f(x) = x³ + 2x² − 5x + 3"


# -- extraction (pure text) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        (r"We add them up, so the total is $\boxed{42}$.", "42", "boxed"),
        ("She pays 3 * 4 = 12 dollars.\n#### 12", "12", "gsm8k"),
        ("Let me compute... The answer is 18 apples.", "18", "answer-phrase"),
        ("**Final Answer:** $\\frac{3}{4}$", "\\frac{3}{4}", "answer-phrase"),
        (
            "Using the power rule term by term.\n\nTherefore: f'(x) = 3x^2 + 4x - 5",
            "f'(x) = 3x^2 + 4x - 5",
            "conclusion",
        ),
        (
            "After simplifying we find that the total cost is **$1,250**.",
            "1,250",
            "bold",
        ),
        (
            "The area works out as follows: $A = \\pi r^2 = 9\\pi$",
            "9\\pi",
            "answer-phrase",
        ),
        ("So x = 2 and x = 3.", "x = 2 and x = 3", "conclusion"),
        ("The discount is 25%.", "25%", "last-number"),
        (r"The roots are \boxed{2} and \boxed{-3}.", "2, -3", "boxed"),
    ],
)
def test_extracts_final_answer_phrased_like_a_chat_model(
    text: str, expected: str, kind: str
) -> None:
    found = extract_answer(text)
    assert found is not None
    assert split_label(found.text) == split_label(expected) or found.text == expected
    if kind != "answer-phrase":
        assert found.kind in {kind, "answer-phrase", "conclusion", "math-span"}


def test_unicode_math_is_normalised() -> None:
    found = extract_answer("Thus f′(x) = 3x² + 4x − 5.")
    assert found is not None
    assert found.text.replace(" ", "") == "f'(x)=3x^2+4x-5"


def test_no_answer_in_prose() -> None:
    assert extract_answer("I am not sure how to solve this.") is None


# -- reference mode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        ("The answer is $3x^2+4x-5$.", "x(3x+4)-5"),
        ("So she earns **$1,250** in total.", "1250"),
        ("The probability is 0.5", "\\frac{1}{2}"),
        ("Therefore the answer is 50%.", "50\\%"),
        ("The solutions are $x = 2$ and $x = -3$.", "-3, 2"),
        (
            "The domain is $(-\\infty, 2) \\cup (3, \\infty)$.",
            "(-\\infty,2)\\cup(3,\\infty)",
        ),
        ("The answer is $\\frac{\\sqrt{3}}{3}$", "\\frac{1}{\\sqrt{3}}"),
        ("It takes 18 minutes.", "18"),
        ("#### 1,000", "1000"),
    ],
)
def test_reference_equivalent_forms_are_verified(answer: str, reference: str) -> None:
    result = verify("q", answer, reference)
    assert result.status == "verified", result
    assert result.method == "reference"
    assert result.verifier == "math"


def test_reference_mismatch_is_refuted() -> None:
    result = verify("q", "So the total is $\\boxed{41}$.", "42")
    assert result.status == "refuted"
    assert result.extracted == "41"
    assert result.expected == "42"
    assert result.explanation


def test_gsm8k_style_word_problem_with_reference() -> None:
    answer = (
        "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4, so she sells "
        "16 - 3 - 4 = 9 eggs. At $2 each she makes 9 * 2 = $18 every day.\n#### 18"
    )
    assert verify("How much does she make?", answer, "18").status == "verified"
    assert verify("How much does she make?", answer, "20").status == "refuted"


# -- recomputation without a reference ------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Using the power rule on each term:\n\nTherefore, f'(x) = 3x² + 4x − 5.",
        "The derivative is $f'(x) = 3x^2 + 4x - 5$.",
        "**Answer:** f'(x) = x(3x + 4) - 5",
    ],
)
def test_seed_derivative_is_verified(answer: str) -> None:
    result = verify(SEED_Q, answer)
    assert result.status == "verified", result
    assert result.method == "sympy:derivative"
    assert result.expected is not None and "4 x" in result.expected


def test_wrong_derivative_is_refuted() -> None:
    result = verify(SEED_Q, "So the derivative is **3x^2 + 4x + 5**.")
    assert result.status == "refuted"
    assert result.method == "sympy:derivative"


def test_critical_points() -> None:
    q = "Find the critical points of f(x) = x^3 - 3x"
    assert (
        verify(q, "Setting f'(x) = 3x^2 - 3 = 0 gives x = 1 and x = -1.").status
        == "verified"
    )
    assert verify(q, "The critical points are x = 1 and x = 2.").status == "refuted"


def test_solve_equation() -> None:
    q = "Solve for $x$: $2x + 3 = 11$."
    assert verify(q, "Subtract 3 and divide by 2: $x = 4$.").status == "verified"
    wrong = verify(q, "x = 5")
    assert wrong.status == "refuted"
    assert wrong.method == "sympy:solve"


def test_solve_with_qualifier() -> None:
    q = "Find the largest value of $x$ that satisfies the equation $|5x-1|=x+3$."
    assert (
        verify(
            q, "The two cases give $x=1$ and $x=-\\frac{1}{3}$, so the answer is $1$."
        ).status
        == "verified"
    )


def test_integral_checked_by_differentiating() -> None:
    q = "Find the integral of x^2 cos(x)"
    good = "Integrating by parts twice:\n\nx^2 sin(x) + 2x cos(x) - 2 sin(x) + C"
    result = verify(q, good)
    assert result.status == "verified", result
    assert result.method == "sympy:integral"
    assert verify(q, "The integral is x^2 sin(x) + C").status == "refuted"


def test_definite_integral_and_limit() -> None:
    assert (
        verify("Evaluate $\\int_0^1 x^2\\,dx$.", "It equals $\\frac{1}{3}$.").status
        == "verified"
    )
    assert (
        verify("Find $\\lim_{x \\to 0} \\frac{\\sin x}{x}$.", "The limit is 2.").status
        == "refuted"
    )


def test_simplification() -> None:
    q = "Simplify $\\frac{x^2-1}{x-1}$."
    assert verify(q, "The simplified form is $x+1$.").status == "verified"
    assert verify(q, "The simplified form is $x-1$.").status == "refuted"


def test_function_evaluation() -> None:
    q = "Let $f(x) = 2x-3$ and $g(x) = x+1$. What is the value of $g(f(5)-1)$?"
    assert verify(q, "f(5) = 7, so g(6) = 7. The answer is 7.").status == "verified"
    assert verify(q, "The answer is 8.").status == "refuted"


def test_plain_arithmetic_in_the_question() -> None:
    assert verify("What is 15% of 240?", "15% of 240 is **36**.").status == "verified"
    result = verify("What is 12 times 15 plus 3?", "12 × 15 = 180, and 180 + 3 = 184.")
    assert result.status == "refuted"
    assert result.method == "arithmetic"


def test_word_problem_without_reference_is_unverifiable() -> None:
    q = "A baker sells 12 cakes a day for 5 days. How many cakes does she sell?"
    result = verify(q, "She sells 12 * 5 = 60 cakes.\n#### 60")
    assert result.status == "unverifiable"
    assert result.extracted == "60"


# -- safety -----------------------------------------------------------------------------


def _quick(result: Verification) -> None:
    assert result.status == "unverifiable", result
    assert result.explanation


@pytest.mark.parametrize(
    "answer",
    [
        "The answer is x**(10**10)",
        "The answer is $2^{10^{10}}$",
        "The answer is 9**9**9**9",
        "The answer is __import__('os').system('touch /tmp/qwen_router_pwned')",
        "The answer is ().__class__.__bases__[0].__subclasses__()",
        "The answer is (lambda: __import__('os'))()",
        "The answer is x.__class__",
    ],
)
def test_hostile_answers_are_unverifiable_and_never_executed(answer: str) -> None:
    result = verify("Simplify $x+x$.", answer, timeout_s=5)
    assert result.status in {"unverifiable", "refuted"}
    assert not os.path.exists("/tmp/qwen_router_pwned")


@pytest.mark.parametrize(
    "question",
    [
        "What is __import__('os').system('touch /tmp/qwen_router_pwned2')?",
        "Find the derivative of f(x) = (lambda: 1)()",
        "What is 2**(10**10)?",
        "Find the derivative of f(x) = x**(10**10) + 1",
    ],
)
def test_hostile_questions_are_never_executed(question: str) -> None:
    result = verify(question, "The answer is 5.", timeout_s=5)
    assert result.status in {"unverifiable", "refuted"}
    assert not os.path.exists("/tmp/qwen_router_pwned2")


def test_one_megabyte_input_is_refused() -> None:
    _quick(verify("Simplify.", "x+" * 500_000 + "1"))
    _quick(verify("q", "The answer is $" + "1+" * 500_000 + "1$", "2"))


def test_stuck_worker_is_killed_and_pool_recovers() -> None:
    # A binomial with a 10-digit top needs far longer than the time limit.
    q = "Compute $\\dbinom{9000000000}{4500000000}$."
    started = time.monotonic()
    result = verify(q, "The answer is 1.", timeout_s=1.0)
    assert result.status == "unverifiable"
    assert time.monotonic() - started < 60  # generous: only guards against a hang
    assert verify(SEED_Q, "f'(x) = 3x^2 + 4x - 5").status == "verified"


def test_safe_from_many_threads() -> None:
    jobs = [
        (SEED_Q, "f'(x) = 3x^2 + 4x - 5"),
        ("What is 15% of 240?", "36"),
        ("q", "The answer is x**(10**10)"),
        ("q", "#### 7"),
    ] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: verify(*job, timeout_s=10), jobs))
    assert [r.status for r in results[:2]] == ["verified", "verified"]
    assert all(isinstance(r, Verification) for r in results)


def test_bad_input_types_never_raise() -> None:
    _quick(verify("q", ""))
    _quick(verify("q", "   "))
    assert verify(None, "#### 4", "4").status == "verified"  # type: ignore[arg-type]


# -- wiring -----------------------------------------------------------------------------


def test_registered_as_the_math_verifier() -> None:
    assert get_verifier("math") is verify


def test_importing_the_package_does_not_import_sympy() -> None:
    code = "import sys, qwen_router, qwen_router.tools.verifiers; print('sympy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"

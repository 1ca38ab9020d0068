"""The whole check for one answer; runs inside a sandboxed worker process.

``check()`` extracts the final answer, parses it safely, and compares it with the
reference when one is given, or with what sympy recomputes from the question. It returns
a plain dict (``status``, ``extracted``, ``expected``, ``explanation``, ``method``) that
the parent turns into a :class:`~qwen_router.types.Verification`.

Time: the worker runs this in its main thread, so a SIGALRM deadline (``_deadline``) ends
slow sympy work softly with an ``unverifiable`` answer; the parent's hard kill is the
backstop for work that never returns to the interpreter (a giant integer power).
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sympy

from .math_equiv import equivalent, parse_answer, parse_reference, to_gold
from .math_extract import extract_answer
from .math_numeral import compare_base as _compare_base
from .math_numeral import in_base as _in_base
from .math_parse import UnsafeInput
from .math_recompute import Expected, Unsupported, recompute
from .math_steps import check_steps
from .math_tasks import Task
from .math_topics import recognize_any

__all__ = ["StepTimeout", "check"]


class StepTimeout(BaseException):
    """A soft deadline passed (BaseException so library ``except Exception`` can't eat it)."""


_deadlines: list[float] = []


def _on_alarm(signum: int, frame: Any) -> None:
    raise StepTimeout()


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`StepTimeout` in this (main) thread after ``seconds``; nests."""
    at = time.monotonic() + max(0.01, seconds)
    if _deadlines:
        at = min(at, _deadlines[-1])
    _deadlines.append(at)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, at - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _deadlines.pop()
        if _deadlines:
            left = _deadlines[-1] - time.monotonic()
            if left <= 0:
                raise StepTimeout()
            signal.setitimer(signal.ITIMER_REAL, left)


def _within(seconds: float, fn: Any, *args: Any) -> tuple[bool, Any]:
    """``(True, fn(*args))``, or ``(False, None)`` when this step's own limit passes first."""
    try:
        with _deadline(seconds):
            return True, fn(*args)
    except StepTimeout:
        if _deadlines and time.monotonic() >= _deadlines[-1]:
            raise
        return False, None


def _result(
    status: str,
    explanation: str,
    *,
    extracted: str | None = None,
    expected: str | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "explanation": explanation,
        "extracted": extracted,
        "expected": expected,
        "method": method,
    }


def check(
    question: str, answer: str, reference: str | None, budget_s: float
) -> dict[str, Any]:
    """Verify ``answer`` to ``question``; never raises on bad input."""
    found = extract_answer(answer)
    if found is None:
        return _result("unverifiable", "no final answer found in the response")
    extracted = found.text
    try:
        with _deadline(budget_s):
            return _check(question, answer, reference, found.text, found.kind)
    except StepTimeout:
        return _result(
            "unverifiable", "sympy ran out of time on this answer", extracted=extracted
        )
    except UnsafeInput as exc:
        return _result("unverifiable", f"refused to parse: {exc}", extracted=extracted)
    except (RecursionError, MemoryError):
        return _result(
            "unverifiable", "expression too large to check", extracted=extracted
        )
    except Exception as exc:  # noqa: BLE001 - never raise on model output
        return _result(
            "unverifiable",
            f"could not check: {type(exc).__name__}",
            extracted=extracted,
        )


def _check(
    question: str, answer: str, reference: str | None, extracted: str, kind: str
) -> dict[str, Any]:
    if reference is not None and reference.strip():
        gold = parse_reference(reference)
        if not gold:
            return _result(
                "unverifiable",
                "could not read the reference answer",
                extracted=extracted,
                expected=reference,
                method="reference",
            )
        pred = parse_answer(extracted)
        ok = equivalent(gold, pred)
        if not ok and "=" in extracted:
            ok = equivalent(gold, parse_answer(extracted, keep_label=True))
        if not ok and kind in {"math-span", "last-equation", "last-number"}:
            ok = equivalent(gold, parse_answer("", full_text=answer))
        if ok:
            return _result(
                "verified",
                "the final answer matches the reference",
                extracted=extracted,
                expected=reference,
                method="reference",
            )
        if not pred:
            return _result(
                "unverifiable",
                "could not read the final answer as math",
                extracted=extracted,
                expected=reference,
                method="reference",
            )
        return _result(
            "refuted",
            f"the final answer {extracted} differs from the reference "
            f"{reference.strip()}",
            extracted=extracted,
            expected=reference,
            method="reference",
        )
    task = recognize_any(question)
    if task is None:
        steps = check_steps(answer)
        if steps is not None:
            status, why = steps
            return _result(status, why, extracted=extracted, method="arithmetic-steps")
        return _result(
            "unverifiable",
            "no reference, and the question is not one sympy can recompute",
            extracted=extracted,
        )
    try:
        exp = recompute(task)
    except Unsupported as exc:
        return _result(
            "unverifiable", f"sympy cannot recompute this: {exc}", extracted=extracted
        )
    except StepTimeout:
        raise
    except UnsafeInput:
        raise
    except Exception:  # noqa: BLE001 - the question's math did not parse
        return _result(
            "unverifiable", "could not read the question's math", extracted=extracted
        )
    if exp.compare == "base":
        status, why = _compare_base(exp, extracted)
        return _result(
            status, why, extracted=extracted, expected=_in_base(exp), method=exp.method
        )
    pred = parse_answer(extracted)
    if not pred:
        return _result(
            "unverifiable",
            "could not read the final answer as math",
            extracted=extracted,
            expected=_show(exp.value),
            method=exp.method,
        )
    status, why = _compare(task, exp, pred)
    expected = _show(exp.value) if exp.value is not None else _antiderivative(exp)
    return _result(
        status, why, extracted=extracted, expected=expected, method=exp.method
    )


def _show(value: Any) -> str:
    try:
        return sympy.latex(value)
    except Exception:  # noqa: BLE001
        return str(value)


def _antiderivative(exp: Expected) -> str | None:
    try:
        done, value = _within(0.5, sympy.integrate, exp.integrand, exp.variable)
    except Exception:  # noqa: BLE001 - display only
        return None
    if not done or value.has(sympy.Integral):
        return None
    return _show(value) + " + C"


_TOL = {
    "tenth": 0.05,
    "hundredth": 0.005,
    "thousandth": 0.0005,
    "whole number": 0.5,
    "integer": 0.5,
    "dollar": 0.5,
    "cent": 0.005,
    "ten": 5,
    "hundred": 50,
}


def _first_basic(pred: list[Any]) -> Any:
    return next(
        (p for p in pred if isinstance(p, (sympy.Basic, sympy.MatrixBase))), None
    )


def _as_number(value: Any) -> complex | None:
    if isinstance(value, sympy.Eq) and isinstance(value.lhs, sympy.Symbol):
        value = value.rhs
    if not isinstance(value, sympy.Expr) or value.free_symbols:
        return None
    try:
        done, num = _within(1.0, lambda: complex(sympy.N(value, 30)))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return num if done else None


def _plain_symbols(value: Any) -> Any:
    """Drop symbol assumptions (``Symbol('a', real=True)`` → ``Symbol('a')``) so parses agree."""
    if not isinstance(value, sympy.Basic):
        return value
    syms = value.free_symbols
    return value.xreplace({s: sympy.Symbol(s.name) for s in syms}) if syms else value


def _compare(task: Task, exp: Expected, pred: list[Any]) -> tuple[str, str]:
    what = exp.method.split(":")[-1]
    pred = [_plain_symbols(p) for p in pred]
    exp.value = _plain_symbols(exp.value)
    exp.integrand = _plain_symbols(exp.integrand)
    if exp.variable is not None:
        exp.variable = sympy.Symbol(exp.variable.name)
    if exp.compare == "antiderivative":
        return _compare_antiderivative(exp, pred)
    if equivalent(to_gold(exp.value), pred):
        return "verified", f"sympy recomputed the {what} and the answer agrees"
    value = _first_basic(pred)
    if exp.compare == "value":
        want, got = _as_number(exp.value), _as_number(value)
        if want is None or got is None:
            if isinstance(value, sympy.FiniteSet) and want is not None:
                nums = [_as_number(v) for v in value.args]
                if all(
                    n is not None and abs(n - want) > 1e-6 * max(1, abs(want))
                    for n in nums
                ):
                    return (
                        "refuted",
                        f"sympy got {_show(exp.value)}, none of the answers match",
                    )
            return (
                "unverifiable",
                f"sympy got {_show(exp.value)}; the answer is not a number to compare",
            )
        tol = _TOL.get(task.rounding or "", 0.0)
        if isinstance(value, sympy.Float) and not tol:
            digits = str(value).rstrip("0").split(".")[-1] if "." in str(value) else ""
            tol = 0.5 * 10 ** -min(len(digits), 12) if digits else 0.0
        if abs(got - want) <= tol + 1e-9 * max(1.0, abs(want)):
            return (
                "verified",
                f"sympy got {_show(exp.value)}; the answer agrees to the precision asked",
            )
        return "refuted", f"sympy got {_show(exp.value)}, not {_show(value)}"
    if exp.compare == "expr":
        return _compare_expr(exp.value, value, what)
    return _compare_set(exp, value, what)


def _compare_expr(want: Any, got: Any, what: str) -> tuple[str, str]:
    if isinstance(got, sympy.Eq):
        got = got.rhs
    if not isinstance(got, sympy.Expr):
        return (
            "unverifiable",
            f"the answer is not an expression to compare with the {what}",
        )
    if got.free_symbols - want.free_symbols:
        return "unverifiable", "the answer uses other variables than the question"
    if _differs_numerically(
        want, got, sorted(want.free_symbols | got.free_symbols, key=str)
    ):
        return "refuted", f"sympy's {what} is {_show(want)}, and the answer differs"
    return "unverifiable", f"could not decide whether the answer equals {_show(want)}"


def _values_at(a: Any, b: Any, point: dict[Any, Any]) -> tuple[complex, complex]:
    return complex(sympy.N(a.subs(point))), complex(sympy.N(b.subs(point)))


def _differs_numerically(a: Any, b: Any, symbols: list[Any]) -> bool:
    """True when ``a - b`` is clearly non-zero at several random real points."""
    rng = random.Random(0)
    hits = 0
    for _ in range(6):
        point = {
            s: sympy.Rational(rng.randint(11, 97), rng.randint(7, 29)) for s in symbols
        }
        try:
            done, pair = _within(0.5, _values_at, a, b, point)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if not done:
            continue
        va, vb = pair
        if va != va or vb != vb:  # nan
            continue
        if abs(va - vb) > 1e-6 * max(1.0, abs(va)):
            hits += 1
        else:
            return False
    return hits >= 3


def _compare_antiderivative(exp: Expected, pred: list[Any]) -> tuple[str, str]:
    got = _first_basic(pred)
    if isinstance(got, sympy.Eq):
        got = got.rhs
    if not isinstance(got, sympy.Expr):
        return "unverifiable", "the answer is not an expression to differentiate"
    consts = {
        s: 0
        for s in got.free_symbols
        if s.name in {"c", "C", "k", "K"} and s != exp.variable
    }
    got = got.subs(consts)
    deriv = sympy.diff(got, exp.variable)
    done, diff = _within(1.5, sympy.simplify, deriv - exp.integrand)
    if done and diff == 0:
        return "verified", "differentiating the answer gives back the integrand"
    syms = sorted(exp.integrand.free_symbols | deriv.free_symbols, key=str)
    if _differs_numerically(exp.integrand, deriv, syms):
        return "refuted", "differentiating the answer does not give back the integrand"
    return (
        "unverifiable",
        "could not decide whether the answer's derivative is the integrand",
    )


def _compare_set(exp: Expected, got: Any, what: str) -> tuple[str, str]:
    want = exp.value
    if isinstance(got, sympy.Eq) and isinstance(got.lhs, sympy.Symbol):
        got = got.rhs
    if isinstance(got, sympy.Expr) and not got.free_symbols:
        got = sympy.FiniteSet(got)
    if not isinstance(want, sympy.FiniteSet) or not isinstance(got, sympy.FiniteSet):
        if isinstance(got, sympy.Set) and isinstance(want, sympy.Set):
            return "refuted", f"sympy's {what} is {_show(want)}, and the answer differs"
        return (
            "unverifiable",
            f"sympy's {what} is {_show(want)}; could not compare the answer",
        )
    items = [
        a.args[0] if isinstance(a, sympy.Tuple) and a.args else a for a in got.args
    ]
    want_n = [_as_number(w) for w in want.args]
    got_n = [_as_number(g) for g in items]
    if None in want_n or None in got_n:
        return (
            "unverifiable",
            f"sympy's {what} is {_show(want)}; could not compare the answer",
        )

    def close(u: complex, v: complex) -> bool:
        return abs(u - v) <= 1e-6 * max(1.0, abs(u))

    same = all(any(close(w, g) for g in got_n) for w in want_n) and all(
        any(close(w, g) for w in want_n) for g in got_n
    )
    if same:
        return "verified", f"sympy recomputed the {what} and the answer agrees"
    return "refuted", f"sympy's {what} is {_show(want)}, and the answer differs"

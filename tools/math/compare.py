"""Compare an answer with what sympy recomputed from the question.

Values are compared exactly when both are exact numbers, else numerically with a finite,
relative tolerance (widened only to the rounding the question asks for); expressions by
random points; antiderivatives by differentiating; solution sets element by element.
"""

from __future__ import annotations

import cmath
import random
from typing import Any

import sympy

from .answer.equiv import equivalent, plain_symbols, to_gold
from .deadline import within
from .recompute.expected import Expected
from .recompute.tasks import Task

__all__ = ["antiderivative_text", "compare", "show"]


def show(value: Any) -> str:
    try:
        return sympy.latex(value)
    except Exception:  # noqa: BLE001
        return str(value)


def antiderivative_text(exp: Expected) -> str | None:
    try:
        done, value = within(0.5, sympy.integrate, exp.integrand, exp.variable)
    except Exception:  # noqa: BLE001 - display only
        return None
    if not done or value.has(sympy.Integral):
        return None
    return show(value) + " + C"


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
        done, num = within(1.0, lambda: complex(sympy.N(value, 30)))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return num if done else None


def compare(task: Task, exp: Expected, pred: list[Any]) -> tuple[str, str]:
    what = exp.method.split(":")[-1]
    pred = [plain_symbols(p) for p in pred]
    exp.value = plain_symbols(exp.value)
    exp.integrand = plain_symbols(exp.integrand)
    if exp.variable is not None:
        exp.variable = sympy.Symbol(exp.variable.name)
    if exp.compare == "antiderivative":
        return _compare_antiderivative(exp, pred)
    if equivalent(to_gold(exp.value), pred):
        return "verified", f"sympy recomputed the {what} and the answer agrees"
    value = _first_basic(pred)
    if exp.compare == "value":
        return _compare_value(task, exp, value)
    if exp.compare == "expr":
        return _compare_expr(exp.value, value, what)
    return _compare_set(exp, value, what)


def _finite(*values: complex) -> bool:
    return all(cmath.isfinite(v) for v in values)


def _compare_value(task: Task, exp: Expected, value: Any) -> tuple[str, str]:
    tol = _TOL.get(task.rounding or "", 0.0)
    if isinstance(value, sympy.Eq) and isinstance(value.lhs, sympy.Symbol):
        value = value.rhs
    if isinstance(exp.value, sympy.Rational) and isinstance(value, sympy.Rational):
        # exact numbers compare exactly: no float overflow for huge values
        if abs(value - exp.value) <= sympy.Rational(str(tol)):
            return (
                "verified",
                f"sympy got {show(exp.value)}; the answer agrees to the precision asked",
            )
        return "refuted", f"sympy got {show(exp.value)}, not {show(value)}"
    want, got = _as_number(exp.value), _as_number(value)
    if want is None or got is None:
        if isinstance(value, sympy.FiniteSet) and want is not None:
            nums = [_as_number(v) for v in value.args]
            if _finite(want) and all(
                n is not None
                and _finite(n)
                and abs(n - want) > 1e-6 * max(1, abs(want))
                for n in nums
            ):
                return (
                    "refuted",
                    f"sympy got {show(exp.value)}, none of the answers match",
                )
        return (
            "unverifiable",
            f"sympy got {show(exp.value)}; the answer is not a number to compare",
        )
    if not _finite(want, got):
        return (
            "unverifiable",
            f"sympy got {show(exp.value)}; too large to compare numerically",
        )
    if isinstance(value, sympy.Float) and not tol:
        digits = str(value).rstrip("0").split(".")[-1] if "." in str(value) else ""
        tol = 0.5 * 10 ** -min(len(digits), 12) if digits else 0.0
    if abs(got - want) <= tol + 1e-9 * max(1.0, abs(want)):
        return (
            "verified",
            f"sympy got {show(exp.value)}; the answer agrees to the precision asked",
        )
    return "refuted", f"sympy got {show(exp.value)}, not {show(value)}"


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
        return "refuted", f"sympy's {what} is {show(want)}, and the answer differs"
    return "unverifiable", f"could not decide whether the answer equals {show(want)}"


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
            done, pair = within(0.5, _values_at, a, b, point)
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
    done, diff = within(1.5, sympy.simplify, deriv - exp.integrand)
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
            return "refuted", f"sympy's {what} is {show(want)}, and the answer differs"
        return (
            "unverifiable",
            f"sympy's {what} is {show(want)}; could not compare the answer",
        )
    items = [
        a.args[0] if isinstance(a, sympy.Tuple) and a.args else a for a in got.args
    ]
    want_n = [_as_number(w) for w in want.args]
    got_n = [_as_number(g) for g in items]
    if None in want_n or None in got_n:
        return (
            "unverifiable",
            f"sympy's {what} is {show(want)}; could not compare the answer",
        )

    def close(u: complex, v: complex) -> bool:
        return abs(u - v) <= 1e-6 * max(1.0, abs(u))

    same = all(any(close(w, g) for g in got_n) for w in want_n) and all(
        any(close(w, g) for w in want_n) for g in got_n
    )
    if same:
        return "verified", f"sympy recomputed the {what} and the answer agrees"
    return "refuted", f"sympy's {what} is {show(want)}, and the answer differs"

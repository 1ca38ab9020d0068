"""Recompute the answer to a recognised question with sympy.

Each task returns an :class:`Expected`: the value, how to compare an answer with it, and
the method name reported in the verification (``sympy:derivative``, ``sympy:solve``...).
Indefinite integrals are checked the other way round: the answer is differentiated.
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from ..parse import UnsafeInput, looks_latex, parse_latex, parse_plain
from .calls import expand_calls
from .expected import Expected, Unsupported
from .series import has_dots, series_value
from .tasks import Task

__all__ = ["HANDLERS"]


_FUNC_LABEL = re.compile(r"^\s*(?:[a-zA-Z]\s*\(\s*[a-zA-Z]\s*\)|y)\s*=(?!=)")


def _parse(task: Task, text: str) -> Any:
    if task.kind in {"derivative", "integral", "critical"} and text.count("=") == 1:
        text = _FUNC_LABEL.sub("", text)
    if task.plain and not looks_latex(text):
        text = re.sub(r"(?i)\s*(?:dx|dt)\s*$", "", text)
        try:
            return parse_plain(text)
        except UnsafeInput:
            raise
        except Exception:  # noqa: BLE001 - some plain questions are LaTeX-ish
            pass
    return parse_latex(text, degrees=True, mixed_numbers=True)


def _rhs(value: Any) -> Any:
    """``f(x) = x^2`` / ``y = x^2`` → ``x^2``."""
    if isinstance(value, sympy.Eq):
        lhs = value.lhs
        if isinstance(lhs, sympy.Symbol) or isinstance(
            lhs, sympy.core.function.AppliedUndef
        ):
            return value.rhs
        raise Unsupported("the function is given as an equation, not a formula")
    return value


def _variable(task: Task, expr: Any) -> Any:
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if task.variable:
        return sympy.Symbol(task.variable)
    if len(free) == 1:
        return free[0]
    for name in ("x", "t"):
        if sympy.Symbol(name) in free:
            return sympy.Symbol(name)
    raise Unsupported("cannot tell which variable the question is about")


def _derivative(task: Task) -> Expected:
    raw = _parse(task, task.target)
    if isinstance(raw, sympy.Derivative):
        return Expected(raw.doit(), "expr", "sympy:derivative", raw.variables[0])
    expr = _rhs(raw)
    var = _variable(task, expr)
    return Expected(sympy.diff(expr, var, task.order), "expr", "sympy:derivative", var)


def _integral(task: Task) -> Expected:
    raw = _parse(task, task.target)
    if isinstance(raw, sympy.Integral):
        if all(len(lim) == 1 for lim in raw.limits):
            var = raw.limits[0][0]
            return Expected(None, "antiderivative", "sympy:integral", var, raw.function)
        value = raw.doit()
        if value.has(sympy.Integral):
            raise Unsupported("sympy has no closed form for this integral")
        return Expected(value, "value", "sympy:integral")
    expr = _rhs(raw)
    if isinstance(expr, sympy.Rel):
        raise Unsupported("not an integrand")
    var = _variable(task, expr)
    return Expected(None, "antiderivative", "sympy:integral", var, expr)


def _limit(task: Task) -> Expected:
    raw = _parse(task, task.target)
    if not isinstance(raw, sympy.Limit):
        raise Unsupported("the limit is not written as \\lim")
    value = raw.doit()
    if value.has(sympy.Limit) or value is sympy.nan:
        raise Unsupported("sympy could not evaluate the limit")
    return Expected(value, "value", "sympy:limit")


def _critical(task: Task) -> Expected:
    expr = _rhs(_parse(task, task.target))
    var = _variable(task, expr)
    deriv = sympy.diff(expr, var)
    sols = sympy.solveset(deriv, var, domain=sympy.S.Reals)
    if not isinstance(sols, sympy.FiniteSet):
        raise Unsupported("the critical points are not a finite set sympy can list")
    # points where f' is undefined but f is (|x|, x^(2/3)) are critical too: not handled
    if sympy.denom(sympy.together(deriv)).free_symbols:
        raise Unsupported(
            "the derivative has a denominator; undefined points not handled"
        )
    return Expected(sols, "set", "sympy:critical-points", var, expr)


def _solve(task: Task) -> Expected:
    raw = _parse(task, task.target)
    if isinstance(raw, (list, tuple)) or not isinstance(raw, sympy.Basic):
        raise Unsupported("not a single equation")
    rel = raw
    if isinstance(rel, sympy.Eq):
        rel = sympy.Eq(rel.lhs, rel.rhs)  # evaluate the parsed (unevaluated) equation
    free = rel.free_symbols
    var = (
        sympy.Symbol(task.variable)
        if task.variable
        else (next(iter(free)) if len(free) == 1 else None)
    )
    if var is None or var not in free or len(free) > 1:
        raise Unsupported("the equation has more than one unknown")
    domain = sympy.S.Complexes if "complex" in task.qualifiers else sympy.S.Reals
    if not isinstance(rel, sympy.Rel):
        raise Unsupported("not an equation or inequality")
    if isinstance(rel, sympy.Eq):
        sols = sympy.solveset(rel.lhs - rel.rhs, var, domain=domain)
    else:
        sols = sympy.solveset(rel, var, domain=domain)
    if isinstance(sols, sympy.ConditionSet) or sols.has(sympy.ConditionSet):
        raise Unsupported("sympy could not solve the equation")
    if isinstance(sols, sympy.FiniteSet):
        return _qualified(task, sols, var)
    if task.qualifiers - {"real"}:
        raise Unsupported("qualifiers on an infinite solution set")
    return Expected(sols, "set", "sympy:solve", var)


def _qualified(task: Task, sols: Any, var: Any) -> Expected:
    values = list(sols)
    q = task.qualifiers
    if "integer" in q:
        values = [v for v in values if v.is_integer]
    if "positive" in q:
        values = [v for v in values if v.is_positive]
    if "negative" in q:
        values = [v for v in values if v.is_negative]
    if q & {"largest", "greatest", "smallest", "least"}:
        if not values or not all(v.is_real for v in values):
            raise Unsupported("cannot order the solutions")
        pick = max if q & {"largest", "greatest"} else min
        return Expected(pick(values), "value", "sympy:solve", var)
    if "sum" in q and "product" not in q:
        return Expected(
            sympy.nsimplify(sympy.Add(*values)), "value", "sympy:solve", var
        )
    if "product" in q and "sum" not in q:
        return Expected(sympy.Mul(*values), "value", "sympy:solve", var)
    if not values:
        raise Unsupported("no solution passes the question's conditions")
    if len(values) == 1:
        return Expected(values[0], "value", "sympy:solve", var)
    return Expected(sympy.FiniteSet(*values), "set", "sympy:solve", var)


def _evaluate(task: Task) -> Expected:
    if has_dots(task.target):
        return Expected(series_value(task.target), "value", "sympy:series")
    raw = _parse(task, task.target)
    if not isinstance(raw, sympy.Expr) or isinstance(raw, sympy.Rel):
        raise Unsupported("not a single expression")
    value = raw.doit()
    if value.free_symbols:
        if value.is_rational_function():
            value = sympy.cancel(value)
        return Expected(value, "expr", "sympy:simplify")
    for kind, name in (
        (sympy.Integral, "integral"),
        (sympy.Limit, "limit"),
        (sympy.Derivative, "derivative"),
    ):
        if raw.has(kind):
            return Expected(value, "value", f"sympy:{name}")
    return Expected(value, "value", "arithmetic" if task.plain else "sympy:evaluate")


def _substitute(task: Task) -> Expected:
    funcs: dict[str, tuple[str, str]] = {}
    values: dict[Any, Any] = {}
    for block in task.definitions:
        for part in re.split(r",\s*(?:\\quad)?\s*|\\text\{\s*and\s*\}", block):
            if not part.strip():
                continue
            lhs, _, rhs = part.partition("=")
            m = re.fullmatch(r"\s*([a-zA-Z])\s*\(\s*([a-zA-Z])\s*\)\s*", lhs)
            if m:
                funcs[m.group(1)] = (m.group(2), rhs.strip().rstrip(".,"))
            else:
                values[sympy.Symbol(lhs.strip())] = parse_latex(
                    rhs.strip().rstrip(".,")
                )
    target = task.target
    for _ in range(12):  # expand nested calls, innermost text first
        expanded = expand_calls(target, funcs)
        if expanded == target:
            break
        target = expanded
    else:
        raise Unsupported("function definitions nest too deeply")
    if len(target) > 1500:
        raise Unsupported("expanded expression too large")
    value = parse_latex(target, degrees=True, mixed_numbers=True)
    if not isinstance(value, sympy.Expr):
        raise Unsupported("not a single expression")
    value = value.subs(values).doit()
    if value.free_symbols:
        raise Unsupported("the value still depends on unknown parameters")
    return Expected(value, "value", "sympy:substitute")


HANDLERS = {
    "derivative": _derivative,
    "integral": _integral,
    "limit": _limit,
    "critical": _critical,
    "solve": _solve,
    "evaluate": _evaluate,
    "substitute": _substitute,
}

""" "Given these equations, find that expression": systems sympy can solve completely.

Shape: every span of math is an equation (``$x + y = 10$``, ``$f(-3) = 2$``), a function
definition (``$f(x) = ax^4 - bx^2 + x + 5$``), a bare variable (``$x$``) or, last, the
expression asked for; the words come from a small vocabulary ("If ... and ..., what is the
value of ...?", "Let $x$ and $y$ be positive real numbers such that ... Find ...").

The equations must be polynomial (rational) in the unknowns, so sympy's ``solve`` lists
every solution. The expected value is the target's value at the solutions; it must be
the same at all of them (after the question's own qualifiers: positive, real, integer,
nonzero — applied only when the question declares them for every unknown), or, when the
question asks for the sum / product / largest / smallest of all possible values, that
aggregate over the real solutions. A target that still depends on a free parameter,
or takes several values, is ``Unsupported``.
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from ..parse import parse_latex
from ..recompute.calls import expand_calls
from ..recompute.common import clean_question
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_ALLOWED = set(
    "if given that suppose let and then what is the value values of find compute determine "
    "evaluate calculate positive real nonzero numbers number integers integer are be such "
    "where with both all possible sum product largest greatest smallest least we know also "
    "a an it its in this case these satisfy satisfies equations equation following system "
    "holds hold".split()
)
_QUAL = {"positive", "real", "integer", "integers", "nonzero"}
_DEF = re.compile(r"^\s*([a-zA-Z])\s*\(\s*([a-zA-Z])\s*\)\s*=(?!=)\s*(.+)$", re.S)
MAX_UNKNOWNS = 4


def _pieces(span: str) -> list[str]:
    span = re.sub(
        r"\\begin\{(?:align\*?|aligned|cases|gather\*?)\}|\\end\{(?:align\*?|aligned|cases|gather\*?)\}",
        " ",
        span,
    )
    parts = re.split(
        r"\\\\|,\s*(?:\\quad|\\qquad)?\s*(?=[^,]*=)|\\text\{\s*and\s*\}|\\quad|;", span
    )
    return [
        p.replace("&", "").strip().rstrip(".,").strip() for p in parts if p.strip(" .,")
    ]


def recognize(question: str) -> Task | None:
    """The system-of-equations task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 800 or re.search(
        r"\[asy\]|tabular|graph|diagram|figure|\\equiv|\\pmod", q
    ):
        return None
    q = re.sub(r"\\begin\{align\*?\}(.+?)\\end\{align\*?\}", r"$\1$", q, flags=re.S)
    spans = [s.strip() for s in re.findall(r"\$([^$]+)\$", q)]
    prose = re.sub(r"\$[^$]*\$", " ", q).lower()
    words = set(re.findall(r"[a-z]+", prose))
    if not spans or not words <= _ALLOWED:
        return None
    ask = re.search(
        r"\b(?:what is|what are|find|compute|determine|evaluate|calculate)\b", prose
    )
    if not ask:
        return None
    # the target is the last span, asked for after the last equation
    target = spans[-1].rstrip(".,?").strip()
    if (
        "=" in target
        or "<" in target
        or ">" in target
        or "\\le" in target
        or "\\ge" in target
    ):
        return None
    if q.rfind("$" + spans[-1]) < q.lower().find(ask.group(0)):
        return None  # the asked-for expression must come after the question word
    eqs: list[str] = []
    defs: list[tuple[str, str, str]] = []
    declared: set[str] = set()
    for span in spans[:-1]:
        pieces = _pieces(span)
        for piece in pieces:
            if re.fullmatch(r"[a-zA-Z]", piece):
                declared.add(piece)
                continue
            if piece.count("=") != 1 or re.search(r"<|>|\\le|\\ge|\\ne", piece):
                return None
            d = _DEF.match(piece)
            if (
                d
                and not re.search(r"\(\s*[a-zA-Z]\s*\)", d.group(3))
                and d.group(2) != d.group(1)
            ):
                defs.append((d.group(1), d.group(2), d.group(3)))
            else:
                eqs.append(piece)
    if not eqs:
        return None
    quals = words & _QUAL
    agg = None
    m = re.search(
        r"\b(sum|product) of all (?:the )?possible values\b|\b(largest|greatest|smallest|least) possible value\b",
        prose,
    )
    if m:
        agg = m.group(1) or m.group(2)
    return Task(
        "given",
        target,
        data={
            "eqs": eqs,
            "defs": defs,
            "declared": sorted(declared),
            "quals": sorted(quals),
            "agg": agg,
        },
    )


def _expand(text: str, defs: list[tuple[str, str, str]]) -> str:
    funcs = {name: (var, body) for name, var, body in defs}
    for _ in range(12):
        new = expand_calls(text, funcs)
        if new == text:
            return text
        text = new
    raise Unsupported("function definitions nest too deeply")


def _letters(text: str) -> set[str]:
    text = re.sub(r"\\(?:text|mathrm|operatorname)\{[^{}]*\}|\\[a-zA-Z]+", " ", text)
    return set(re.findall(r"[a-zA-Z]", text))


def _parse_all(text: str) -> Any:
    """Parse, and refuse a parse that lost a letter (``4c`` read as a unit, say)."""
    value = parse_latex(text, degrees=True, mixed_numbers=True)
    names = {s.name for s in getattr(value, "free_symbols", set())}
    if names != _letters(text):
        raise Unsupported("the parser did not keep every variable")
    return value


def _given_value(task: Task) -> Expected:
    defs = task.data["defs"]
    equations = []
    for eq in task.data["eqs"]:
        rel = _parse_all(_expand(eq, defs))
        if not isinstance(rel, sympy.Eq):
            raise Unsupported("not an equation")
        equations.append(sympy.Eq(rel.lhs, rel.rhs))
    target = _parse_all(_expand(task.target, defs))
    if not isinstance(target, sympy.Expr):
        raise Unsupported("the target is not an expression")
    unknowns = sorted(set().union(*(e.free_symbols for e in equations)), key=str)
    plain = {
        s: sympy.Symbol(s.name) for s in unknowns + sorted(target.free_symbols, key=str)
    }
    equations = [e.xreplace(plain) for e in equations]
    target = target.xreplace(plain)
    unknowns = sorted({plain[s] for s in unknowns}, key=str)
    if not unknowns or len(unknowns) > MAX_UNKNOWNS or len(equations) > MAX_UNKNOWNS:
        raise Unsupported("too many unknowns")
    if not target.free_symbols <= set(unknowns):
        raise Unsupported("the target uses names the equations do not fix")
    for e in equations:
        num, _den = sympy.fraction(sympy.together(e.lhs - e.rhs))
        if not num.is_polynomial(*unknowns):
            raise Unsupported("only polynomial systems are solved completely")
    sols = sympy.solve(equations, unknowns, dict=True)
    if not sols:
        raise Unsupported("sympy found no solution")
    quals = set(task.data["quals"])
    if quals:
        if not {s.name for s in unknowns} <= set(task.data["declared"]):
            raise Unsupported("the qualifiers may not cover every unknown")
        sols = [s for s in sols if _passes(s, unknowns, quals)]
    values = []
    for sol in sols:
        v = sympy.simplify(target.subs(sol))
        if v.free_symbols or v.has(sympy.nan, sympy.zoo):
            raise Unsupported("the equations leave the target undetermined")
        values.append(v)
    return _pick(values, task.data["agg"])


def _passes(sol: dict[Any, Any], unknowns: list[Any], quals: set[str]) -> bool:
    for u in unknowns:
        v = sol.get(u)
        if v is None or v.free_symbols:
            return False
        if "positive" in quals and v.is_positive is not True:
            return False
        if "real" in quals and v.is_real is not True:
            return False
        if quals & {"integer", "integers"} and v.is_integer is not True:
            return False
        if "nonzero" in quals and v.is_zero is not False:
            return False
    return True


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(sympy.simplify(v - w) == 0 for w in out):
            out.append(v)
    return out


def _pick(values: list[Any], agg: str | None) -> Expected:
    if not values:
        raise Unsupported("no solution passes the question's conditions")
    distinct = _distinct(values)
    if agg is None:
        if len(distinct) == 1:
            return Expected(distinct[0], "value", "sympy:system")
        real = _distinct([v for v in distinct if v.is_real])
        if len(real) == 1 and len(real) < len(distinct):
            return Expected(real[0], "value", "sympy:system")
        raise Unsupported("the target takes several values")
    real = [v for v in distinct if v.is_real is True]
    if len(real) != len(distinct):
        raise Unsupported("some values are not real")
    if agg == "sum":
        value = sympy.simplify(sympy.Add(*real))
    elif agg == "product":
        value = sympy.simplify(sympy.Mul(*real))
    elif agg in {"largest", "greatest"}:
        value = max(real, key=lambda v: float(sympy.N(v)))
    else:
        value = min(real, key=lambda v: float(sympy.N(v)))
    return Expected(value, "value", "sympy:system")


HANDLERS = {"given": _given_value}

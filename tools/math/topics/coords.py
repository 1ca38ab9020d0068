"""Coordinate and vector questions with one formula each.

* "What is the distance between the points $(2, -6)$ and $(-4, 3)$?"
* "What is the midpoint of the segment with endpoints $(a, b)$ and $(c, d)$?"
* "What is the slope of the line through / containing the points $(a, b)$ and $(c, d)$?"
* "Find the dot product of $\\begin{pmatrix}...\\end{pmatrix}$ and $\\begin{pmatrix}...\\end{pmatrix}$."
* "What is the positive square root of (the product) $E$?"

The whole question must have one of these shapes (plus an optional "Express your answer in
simplest radical form." / "as a common fraction."); anything more is left alone.
"""

from __future__ import annotations

import re

import sympy

from ..recompute.common import clean_question, parse_value
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_ASK = r"(?:what is|what's|find|compute|calculate|determine)"
_TAIL = re.compile(
    r"\s*(?:express your answer (?:in simplest radical form|as a common fraction|as an ordered pair|"
    r"as a decimal to the nearest (?:tenth|hundredth))\.?)\s*$",
    re.I,
)
_PT = r"\$\s*\(\s*(?P<{0}>[^$()]+?)\s*\)\s*\$"
_VEC = r"\$\s*(?P<{0}>\\begin\{{pmatrix\}}[^$]+?\\end\{{pmatrix\}})\s*\$"


def recognize(question: str) -> Task | None:
    """The coordinate / vector task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 400 or "[asy]" in q:
        return None
    q = _TAIL.sub("", q).strip()
    end = r"\s*[?.]?"
    pts = _PT.format("p") + r",? and " + _PT.format("r")
    m = re.fullmatch(
        rf"{_ASK} the distance(?:, in units,)? between (?:the points )?{pts}{end}",
        q,
        re.I,
    )
    if m:
        return Task(
            "coord",
            "distance",
            data={"kind": "distance", "p": m.group("p"), "r": m.group("r")},
        )
    m = re.fullmatch(
        rf"{_ASK} the (?:coordinates of the )?midpoint of the (?:line )?segment (?:with|whose) endpoints (?:are )?(?:at )?{pts}{end}",
        q,
        re.I,
    )
    if m:
        return Task(
            "coord",
            "midpoint",
            data={"kind": "midpoint", "p": m.group("p"), "r": m.group("r")},
        )
    m = re.fullmatch(
        rf"{_ASK} the slope of the line (?:through|containing|passing through) (?:the points )?{pts}{end}",
        q,
        re.I,
    )
    if m:
        return Task(
            "coord",
            "slope",
            data={"kind": "slope", "p": m.group("p"), "r": m.group("r")},
        )
    m = re.fullmatch(
        rf"{_ASK} the dot product of {_VEC.format('p')} and {_VEC.format('r')}{end}",
        q,
        re.I,
    )
    if m:
        return Task(
            "coord", "dot", data={"kind": "dot", "p": m.group("p"), "r": m.group("r")}
        )
    m = re.fullmatch(
        rf"{_ASK} the positive square root of (?:the (?:product|sum|number) )?\$(?P<e>[^$]+)\${end}",
        q,
        re.I,
    )
    if m:
        return Task("coord", "sqrt", data={"kind": "sqrt", "p": m.group("e"), "r": ""})
    return None


def _point(text: str) -> list[sympy.Expr]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise Unsupported("a point in the plane has two coordinates")
    out = [parse_value(p) for p in parts]
    if any(not isinstance(v, sympy.Expr) or v.free_symbols for v in out):
        raise Unsupported("coordinates must be numbers")
    return out


def _vector(text: str) -> list[sympy.Expr]:
    body = re.sub(r"\\(?:begin|end)\{pmatrix\}", "", text)
    out = [parse_value(p.strip()) for p in body.split("\\\\") if p.strip()]
    if len(out) < 2 or any(
        not isinstance(v, sympy.Expr) or v.free_symbols for v in out
    ):
        raise Unsupported("vector entries must be numbers")
    return out


def _coord_value(task: Task) -> Expected:
    kind, d = task.data["kind"], task.data
    if kind == "sqrt":
        v = parse_value(d["p"])
        if not isinstance(v, sympy.Expr) or v.free_symbols or not v.is_nonnegative:
            raise Unsupported("not a non-negative number")
        return Expected(sympy.sqrt(v), "value", "sympy:evaluate")
    if kind == "dot":
        a, b = _vector(d["p"]), _vector(d["r"])
        if len(a) != len(b):
            raise Unsupported("vectors of different sizes")
        return Expected(
            sympy.nsimplify(sum(x * y for x, y in zip(a, b, strict=True))),
            "value",
            "sympy:dot-product",
        )
    (x1, y1), (x2, y2) = _point(d["p"]), _point(d["r"])
    if kind == "distance":
        return Expected(
            sympy.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2), "value", "sympy:distance"
        )
    if kind == "midpoint":
        return Expected(
            sympy.Tuple((x1 + x2) / 2, (y1 + y2) / 2), "value", "sympy:midpoint"
        )
    if x1 == x2:
        raise Unsupported("a vertical line has no slope")
    return Expected((y2 - y1) / (x2 - x1), "value", "sympy:slope")


HANDLERS = {"coord": _coord_value}

"""Simple geometry formulas: a triangle's area from its three sides (Heron), the
hypotenuse from two legs, a polygon's interior-angle sum, a circle's area and
circumference, and the volume of a sphere, cube, cylinder or cone.

Only questions that state every number the formula needs, and nothing else, match.
"""

from __future__ import annotations

import re

import sympy

from ..recompute.common import clean_question
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_NUM = r"\$?(\d+(?:\.\d+)?)\$?"
_ASK = r"(?:what is|what's|find|compute|calculate|determine)"
_UNITS = r"(?: (?:units|cm|centimeters|meters|inches|feet|m))?"
_SQ = r"(?:,? in square (?:units|centimeters|meters|inches|feet))?"
_END = r"\s*[?.]?(?: express your answer in (?:simplest radical form|terms of \$?\\?pi\$?)\.?)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "heron",
        re.compile(
            rf"(?i){_ASK} (?:the number of square units in )?the area{_SQ},? of a triangle "
            rf"(?:whose sides (?:measure|are|have lengths?)|with sides(?: of lengths?| measuring)?) "
            rf"{_NUM},? {_NUM},? and {_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "hypotenuse",
        re.compile(
            rf"(?i){_ASK} the (?:length of the )?hypotenuse of a right triangle (?:with|whose) legs "
            rf"(?:of length |measure |are )?{_NUM}{_UNITS} and {_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "angle-sum",
        re.compile(
            rf"(?i){_ASK} the sum of the (?:measures of the )?interior angles(?:,? in degrees,?)? of a "
            rf"(?:convex )?polygon with {_NUM} sides{_END}"
        ),
    ),
    (
        "circle-area",
        re.compile(
            rf"(?i){_ASK} the area of a circle (?:with|of|whose) radius (?:is )?{_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "circumference",
        re.compile(
            rf"(?i){_ASK} the circumference of a circle (?:with|of|whose) radius (?:is )?{_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "sphere-volume",
        re.compile(
            rf"(?i){_ASK} the volume of a sphere (?:with|of|whose) radius (?:is )?{_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "cylinder-volume",
        re.compile(
            rf"(?i){_ASK} the volume of a (?:right )?(?:circular )?cylinder (?:with|of) radius {_NUM}{_UNITS} "
            rf"and height {_NUM}{_UNITS}{_END}"
        ),
    ),
    (
        "cone-volume",
        re.compile(
            rf"(?i){_ASK} the volume of a (?:right )?(?:circular )?cone (?:with|of) radius {_NUM}{_UNITS} "
            rf"and height {_NUM}{_UNITS}{_END}"
        ),
    ),
]


def recognize(question: str) -> Task | None:
    """The geometry formula this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 300 or "[asy]" in q:
        return None
    for kind, pattern in _PATTERNS:
        m = pattern.fullmatch(q)
        if m:
            return Task(
                "geometry",
                q,
                data={"shape": kind, "n": [sympy.Rational(g) for g in m.groups()]},
            )
    return None


def _value(task: Task) -> Expected:
    shape, n = task.data["shape"], task.data["n"]
    pi = sympy.pi
    if shape == "heron":
        a, b, c = n
        if not (a + b > c and a + c > b and b + c > a):
            raise Unsupported("no triangle has these sides")
        s = (a + b + c) / 2
        value = sympy.sqrt(s * (s - a) * (s - b) * (s - c))
    elif shape == "hypotenuse":
        value = sympy.sqrt(n[0] ** 2 + n[1] ** 2)
    elif shape == "angle-sum":
        if n[0] < 3 or not n[0].is_integer:
            raise Unsupported("not a polygon")
        value = 180 * (n[0] - 2)
    elif shape == "circle-area":
        value = pi * n[0] ** 2
    elif shape == "circumference":
        value = 2 * pi * n[0]
    elif shape == "sphere-volume":
        value = sympy.Rational(4, 3) * pi * n[0] ** 3
    elif shape == "cylinder-volume":
        value = pi * n[0] ** 2 * n[1]
    elif shape == "cone-volume":
        value = pi * n[0] ** 2 * n[1] / 3
    else:  # pragma: no cover - every pattern has a formula
        raise Unsupported(shape)
    return Expected(value, "value", f"sympy:geometry-{shape}")


HANDLERS = {"geometry": _value}

"""Sums written with an ellipsis: ``1 - 2 + 3 - \\dots + 99 - 100``, ``1 + 3 + 9 + \\cdots + 729``.

Only numeric terms are read. The pattern is inferred from the terms before the dots
(arithmetic or geometric magnitudes; constant or alternating signs), and every term after
the dots must fit that pattern at a whole-number position; two terms before the dots are
enough only when the terms after them confirm the same step. Anything else is
:class:`~qwen_router.tools.math.recompute.expected.Unsupported`, never a guess.
"""

from __future__ import annotations

import re
from fractions import Fraction

import sympy

from .expected import Unsupported

__all__ = ["has_dots", "series_value"]

_DOTS = re.compile(r"\\[lc]?dots(?:b|c)?|\\ldots|\.\.\.|…")
_TERM = re.compile(r"\s*([+-])?\s*(\d+(?:\.\d+)?|\\[dt]?frac\{\d+\}\{\d+\})\s*")
MAX_TERMS = 10**7


def has_dots(text: str) -> bool:
    """True when the text holds an ellipsis."""
    return bool(_DOTS.search(text))


def _num(tok: str) -> Fraction:
    m = re.fullmatch(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}", tok)
    if m:
        if int(m.group(2)) == 0:
            raise Unsupported("division by zero")
        return Fraction(int(m.group(1)), int(m.group(2)))
    return Fraction(tok)


def _terms(text: str, *, lead_op: bool) -> list[Fraction]:
    """Signed terms of ``a + b - c``; ``lead_op``: the part starts right after the dots."""
    text = text.strip()
    pos, out, first = 0, [], True
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            raise Unsupported("the series has terms that are not plain numbers")
        sign = m.group(1)
        if sign is None and not (first and not lead_op):
            raise Unsupported("terms must be joined by + or -")
        value = _num(m.group(2))
        out.append(-value if sign == "-" else value)
        pos, first = m.end(), False
    return out


def _split(text: str) -> tuple[list[Fraction], list[Fraction], str]:
    parts = _DOTS.split(text)
    if len(parts) != 2:
        raise Unsupported("one ellipsis expected")
    left, right = parts[0].strip(), parts[1].strip()
    m = re.search(r"([+-])\s*$", left)
    if not m:
        raise Unsupported("the terms before the ellipsis must end with + or -")
    op = m.group(1)
    left = left[: m.start()]
    if right[:1] not in "+-":  # "1 + 2 + \dots 100": the sign before the dots
        right = op + right
    return _terms(left, lead_op=False), _terms(right, lead_op=True), op


def _position(
    value: Fraction, a: Fraction, d: Fraction | None, r: Fraction | None
) -> int | None:
    if d is not None:
        if d == 0:
            return None
        k = (value - a) / d
    else:
        assert r is not None
        if a == 0 or r in (0, 1, -1) or value == 0:
            return None
        k, cur = 0, a
        while abs(cur) < abs(value) and k < 200:
            cur *= r
            k += 1
        if cur != value:
            return None
        k = Fraction(k)
    return int(k) if k.denominator == 1 and k >= 0 else None


def series_value(text: str) -> sympy.Rational:
    """The sum's exact value, or :class:`Unsupported`."""
    left, right, _ = _split(text)
    if len(left) < 2 or not right:
        raise Unsupported("too few terms to see the pattern")
    mags = [abs(t) for t in left]
    signs = [1 if t >= 0 else -1 for t in left]
    alt = len(left) >= 2 and all(
        signs[i] == -signs[i - 1] for i in range(1, len(signs))
    )
    same = all(s == signs[0] for s in signs)
    if not (same or alt) or (alt and len(left) < 3 and len(right) < 2):
        raise Unsupported("the signs follow no simple pattern")
    candidates = []
    d = mags[1] - mags[0]
    if all(mags[i] - mags[i - 1] == d for i in range(1, len(mags))):
        candidates.append(("ap", d, None))
    if mags[0] != 0:
        r = mags[1] / mags[0]
        if all(mags[i] == mags[i - 1] * r for i in range(1, len(mags))):
            candidates.append(("gp", None, r))
    if len(left) < 3:  # two terms fit both kinds: the terms after the dots must decide
        if len(right) < 2:
            raise Unsupported("too few terms to see the pattern")
        rm = [abs(t) for t in right]
        candidates = [
            c
            for c in candidates
            if (c[0] == "ap" and rm[1] - rm[0] == c[1])
            or (c[0] == "gp" and rm[0] != 0 and rm[1] / rm[0] == c[2])
        ]
    if len(candidates) != 1:
        raise Unsupported("the terms follow no single simple pattern")
    kind, d, r = candidates[0]
    a = mags[0]
    positions = []
    for t in right:
        k = _position(abs(t), a, d, r)
        if k is None or k < len(left):
            raise Unsupported("a term after the ellipsis does not fit the pattern")
        sign = signs[0] * ((-1) ** k if alt else 1)
        if (1 if t >= 0 else -1) != sign and t != 0:
            raise Unsupported("a sign after the ellipsis does not fit the pattern")
        positions.append(k)
    if any(positions[i] != positions[i - 1] + 1 for i in range(1, len(positions))):
        raise Unsupported("the terms after the ellipsis are not consecutive")
    n = positions[-1]
    if n > MAX_TERMS:
        raise Unsupported("too many terms")
    k = sympy.Symbol("k", integer=True, nonnegative=True)
    base = sympy.Rational(a.numerator, a.denominator)
    if kind == "ap":
        mag = base + k * sympy.Rational(d.numerator, d.denominator)
    else:
        mag = base * sympy.Rational(r.numerator, r.denominator) ** k
    term = signs[0] * ((-1) ** k if alt else 1) * mag
    value = sympy.summation(term, (k, 0, n))
    if not value.is_Rational:
        raise Unsupported("could not sum the series")
    return value

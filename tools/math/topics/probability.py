"""Probability over a finite sample space, and means of listed data.

* "A number is selected at random from 1 through 100, inclusive. What is the probability
  that the number is a multiple of 3?" (multiple of / divisible by k, even, odd, prime,
  a perfect square, a perfect cube), by counting the sample space;
* "If 20 students scored 80, 8 students scored 90, and 2 students scored 100, then what was
  the class average?", a weighted mean.

Each recogniser matches the whole question or nothing.
"""

from __future__ import annotations

import re

import sympy

from ..recompute.common import clean_question
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_N = r"\$?(\d{1,6})\$?"
_PICK = (
    rf"(?:an? (?:integer|number|whole number)|one of the (?:integers|numbers)) is "
    rf"(?:selected|chosen|picked|drawn) (?:uniformly )?at random from (?:the (?:integers|numbers) )?"
    rf"{_N} (?:through|to) {_N}(?:,? inclusive)?[.,]"
)
_PROPERTY = (
    r"(?P<prop>a multiple of|divisible by|even|odd|prime|a prime(?: number)?|a perfect square|"
    r"a perfect cube|a factor of|a divisor of)\s*(?P<k>\$?\d{1,6}\$?)?"
)
_SELECT = re.compile(
    rf"(?i){_PICK} what is the probability that (?:the (?:number|integer)|it) (?:selected |chosen )?is "
    rf"{_PROPERTY}\s*\??(?: express your answer as a common fraction\.)?"
)


def recognize(question: str) -> Task | None:
    """The probability or mean task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 400 or "[asy]" in q:
        return None
    return _selection(q) or _mean(q)


def _selection(q: str) -> Task | None:
    m = _SELECT.fullmatch(q)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2))
    prop = m.group("prop").lower()
    k = int(m.group("k").strip("$")) if m.group("k") else None
    needs_k = prop in {"a multiple of", "divisible by", "a factor of", "a divisor of"}
    if needs_k != (k is not None):
        return None
    return Task("prob-select", q, data={"lo": lo, "hi": hi, "prop": prop, "k": k})


def _holds(n: int, prop: str, k: int | None) -> bool:
    if prop in {"a multiple of", "divisible by"}:
        return n % k == 0  # type: ignore[operator]
    if prop in {"a factor of", "a divisor of"}:
        return n != 0 and k % n == 0  # type: ignore[operator]
    if prop == "even":
        return n % 2 == 0
    if prop == "odd":
        return n % 2 == 1
    if prop.startswith(("prime", "a prime")):
        return bool(sympy.isprime(n))
    if prop == "a perfect square":
        return n >= 0 and sympy.integer_nthroot(n, 2)[1]
    if prop == "a perfect cube":
        return sympy.integer_nthroot(abs(n), 3)[1]
    raise Unsupported(f"unknown property {prop}")


def _selection_value(task: Task) -> Expected:
    d = task.data
    lo, hi = d["lo"], d["hi"]
    if not lo <= hi or hi - lo > 100_000:
        raise Unsupported("sample space out of range")
    hits = sum(1 for n in range(lo, hi + 1) if _holds(n, d["prop"], d["k"]))
    return Expected(sympy.Rational(hits, hi - lo + 1), "value", "sympy:probability")


def _mean(q: str) -> Task | None:
    m = re.fullmatch(
        r"(?i)(?:a (?:class|group|team) of (?P<total>\d+) (?:students|people|players) "
        r"(?:recently )?(?:took|wrote|sat) (?:a|an|the) (?:test|exam|quiz)\. )?"
        r"if (?P<list>.+?), (?:then )?what (?:was|is) the (?:class |group )?"
        r"(?:average|mean|arithmetic mean)(?: \(the mean\))?(?: score)?(?: on (?:this|the) (?:test|exam|quiz))?\s*\?",
        q,
    )
    if not m:
        return None
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group("list"))
    pairs = []
    for part in parts:
        p = re.fullmatch(
            r"(?i)\$?(\d+)\$? (?:students|people|players) (?:scored|got|earned) (?:an? )?\$?(\d+(?:\.\d+)?)\$?"
            r"(?: points)?",
            part.strip(),
        )
        if not p:
            return None
        pairs.append((int(p.group(1)), sympy.Rational(p.group(2))))
    if len(pairs) < 2:
        return None
    total = m.group("total")
    if total is not None and int(total) != sum(c for c, _ in pairs):
        return None  # the counts do not add up: not the question we think it is
    return Task("mean", q, data={"pairs": pairs})


def _mean_value(task: Task) -> Expected:
    pairs = task.data["pairs"]
    count = sum(c for c, _ in pairs)
    return Expected(sum(c * v for c, v in pairs) / count, "value", "sympy:mean")


HANDLERS = {"prob-select": _selection_value, "mean": _mean_value}

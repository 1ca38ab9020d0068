"""Digits and bases: units / tens digit and digit sum of an integer expression; base
conversion and arithmetic on base-$b$ numerals ("Express $413_5 \\div 2_5$ in base 5").
Used by :mod:`qwen_router.tools.math.topics.numbertheory`."""

from __future__ import annotations

import re

import sympy

from ..recompute.common import NUMBER, int_value, parse_value
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["ASK", "HANDLERS", "base_of", "base_task", "digits_task"]

ASK = r"(?:what is|what's|find|compute|calculate|determine|evaluate|give)"
_ASK = ASK
_E = rf"(?P<e>{NUMBER})"


def _full(pattern: str, q: str) -> re.Match[str] | None:
    return re.fullmatch(pattern + r"\s*[?.!]?\s*", q, re.I)


_BASE_WORDS = {
    "two": 2,
    "binary": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "octal": 8,
    "nine": 9,
    "ten": 10,
    "decimal": 10,
    "eleven": 11,
    "twelve": 12,
    "sixteen": 16,
    "hexadecimal": 16,
}


def base_of(word: str) -> int | None:
    w = word.strip().strip("$").strip().lower()
    if re.fullmatch(r"\d{1,2}", w):
        b = int(w)
        return b if 2 <= b <= 36 else None
    return _BASE_WORDS.get(w)


# -- digits --------------------------------------------------------------------------------


def digits_task(q: str) -> Task | None:
    m = _full(
        rf"{_ASK} the (?P<which>units|ones|tens) digit (?:of|in) (?:the (?:sum|product|number|expression) )?{_E}",
        q,
    )
    if m:
        return Task(
            "nt-digit",
            m.group("e"),
            data={"e": m.group("e"), "which": m.group("which").lower()},
        )
    m = _full(
        rf"{_ASK} the sum of the digits (?:of|in) (?:the (?:number|integer|product|sum) )?{_E}",
        q,
    )
    if m:
        return Task("nt-digit", m.group("e"), data={"e": m.group("e"), "which": "sum"})
    return None


def _digit_value(task: Task) -> Expected:
    which = task.data["which"]
    if which == "sum":
        n = int_value(task.data["e"])
        if n < 0 or n > 10**400:
            raise Unsupported("out of range")
        return Expected(
            sympy.Integer(sum(int(c) for c in str(n))), "value", "sympy:digits"
        )
    n = int_value(task.data["e"], modulus=100)
    value = n % 10 if which in {"units", "ones"} else n // 10
    return Expected(sympy.Integer(value), "value", "sympy:digits")


# -- bases ---------------------------------------------------------------------------------

_NUMERAL = re.compile(r"([0-9A-Za-z]+)_\{?(\d{1,2})\}?")


def base_task(q: str, fmt_base: int | None) -> Task | None:
    spans = re.findall(r"\$([^$]+)\$", q)
    prose = re.sub(r"\s+", " ", re.sub(r"\$[^$]*\$", " # ", q)).strip()
    pats = [
        r"(?:convert|express|write) (?:the (?:sum|difference|product|quotient|number) )?# (?:to|in|as a) base (?P<b>\S+?)(?: number| numeral)?",
        rf"(?:{_ASK}|what is) # (?:in|as a|expressed in) base (?P<b>\S+?)(?: number| numeral)?",
        rf"(?:{_ASK}|what is) the base (?P<b>\S+?) (?:equivalent|representation) of #",
        rf"(?:{_ASK}|what is) # (?:in base (?P<b>\S+?))?",
    ]
    for pat in pats:
        m = re.fullmatch(pat + r"\s*[?.!]?", prose, re.I)
        if m and len(spans) == 1:
            break
    else:
        return None
    target = base_of(m.group("b")) if m.groupdict().get("b") else fmt_base
    if target is None or (m.groupdict().get("b") and fmt_base not in (None, target)):
        return None
    expr = spans[0].strip().rstrip(".,").strip()
    if not _NUMERAL.search(expr):
        if target == 10 or not re.fullmatch(r"\d+", expr):
            return None
    return Task("nt-base", expr, data={"expr": expr, "base": target})


def _base_value(task: Task) -> Expected:
    expr, target = task.data["expr"], task.data["base"]

    def to_int(m: re.Match[str]) -> str:
        digits, b = m.group(1), int(m.group(2))
        if not 2 <= b <= 36:
            raise Unsupported("base out of range")
        try:
            return f"({int(digits, b)})"
        except ValueError:
            raise Unsupported(f"{digits} is not a base-{b} numeral") from None

    text = _NUMERAL.sub(to_int, expr)
    text = re.sub(r"\\(?:times|cdot)", "*", text).replace("\\div", "/")
    if re.search(r"[^\d\s()+\-*/]", text):
        raise Unsupported("only + - * / between numerals")
    value = parse_value(text)
    if not (isinstance(value, sympy.Expr) and value.is_integer and value >= 0):
        raise Unsupported("the result is not a whole number")
    return Expected(sympy.Integer(value), "base", "sympy:base", base=target)


HANDLERS = {"nt-digit": _digit_value, "nt-base": _base_value}

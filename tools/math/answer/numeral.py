"""Compare an answer written as a numeral in some base with the integer sympy computed."""

from __future__ import annotations

import re

from ..recompute.expected import Expected

__all__ = ["compare_base", "in_base"]

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def in_base(exp: Expected) -> str:
    n, b = int(exp.value), int(exp.base or 10)
    out = ""
    while True:
        n, r = divmod(n, b)
        out = _DIGITS[r] + out
        if not n:
            break
    return out if b == 10 else f"{out.upper()}_{{{b}}}"


def compare_base(exp: Expected, extracted: str) -> tuple[str, str]:
    """The answer's digits, read in the base the question asks for, against the value."""
    text = re.sub(r"\\(?:text|mathrm|mbox)\{([^{}]*)\}", r"\1", extracted)
    text = re.sub(r"\\[,!;]|[\s{}]", "", text).rstrip(".")
    if exp.base == 10:
        text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    m = re.fullmatch(r"([0-9A-Za-z]+)(?:_\(?(\d{1,2})\)?)?", text)
    if not m or not re.search(r"\d", m.group(1) + (m.group(2) or "")):
        return (
            "unverifiable",
            f"sympy got {in_base(exp)}; could not read the answer as a numeral",
        )
    base = int(m.group(2)) if m.group(2) else int(exp.base or 10)
    if base != exp.base:
        return (
            "unverifiable",
            f"the answer is written in base {base}, not base {exp.base}",
        )
    try:
        got = int(m.group(1), base)
    except ValueError:
        return "unverifiable", f"{m.group(1)} is not a base-{base} numeral"
    if got == int(exp.value):
        return (
            "verified",
            f"sympy recomputed the numeral {in_base(exp)} and the answer agrees",
        )
    return "refuted", f"sympy got {in_base(exp)}, not {m.group(1)}"

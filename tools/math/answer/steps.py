"""Check the arithmetic of a worked solution, step by step (no sympy, no ``eval``).

A GSM8K solution annotates each calculation as ``<<48/2=24>>``; chat answers write
``48 / 2 = 24``. Each such step whose sides are plain arithmetic (numbers, ``+ - * / ( )``,
``x`` / ``×`` for times, ``%``, ``$`` and thousands separators) is recomputed exactly with
fractions. A shown result may be rounded (``10/3 = 3.33``, ``= 3.3``, ``= 3``): it counts as
correct when it equals the exact value rounded or truncated to the digits it shows.

This never says ``verified``: checking the steps does not recompute the final answer from
the question. :func:`check_steps` returns ``("unverifiable", "all N arithmetic steps check
out")``, ``("refuted", "step ... is wrong")``, or ``None`` when there is no step to check.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["check_steps", "evaluate"]

MAX_STEPS = 200
_ANNOTATION = re.compile(r"<<([^<>=]{1,200})=([^<>=]{1,40})>>")
_NUMBER = r"\d[\d,]*(?:\.\d+)?|\.\d+"
# "12 * 4 = 48", "$3 x 4 = $12", "20% of..." is not a step (words)
_PLAIN = re.compile(
    rf"(?<![\w.<=/^*+\-])((?:\(?\s*-?\$?(?:{_NUMBER})%?\s*\)?\s*[-+*/x×÷]\s*)+\(?\s*\$?(?:{_NUMBER})%?\s*\)?)"
    rf"\s*=\s*\$?(-?(?:{_NUMBER}))(?![\d.]*\s*[-+*/x×÷^(]\s*\d)(?!\.\d)"
)


class _Bad(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    text = text.replace("×", "*").replace("÷", "/").replace("$", "")
    text = re.sub(r"(?<=\d)\s*x\s*(?=[\d(.$])", "*", text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    out = re.findall(r"\d+(?:\.\d+)?|\.\d+|[-+*/()%]|\S", text)
    if any(not re.fullmatch(r"\d+(?:\.\d+)?|\.\d+|[-+*/()%]", t) for t in out):
        raise _Bad("not plain arithmetic")
    return out


def evaluate(text: str) -> Fraction:
    """Exact value of a plain arithmetic expression (recursive descent, no ``eval``)."""
    toks = _tokens(text)
    if len(toks) > 120:
        raise _Bad("too long")
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def expr() -> Fraction:
        value = term()
        while peek() in ("+", "-"):
            value = value + term() if take() == "+" else value - term()
        return value

    def term() -> Fraction:
        value = unary()
        while peek() in ("*", "/"):
            op, rhs = take(), unary()
            if op == "/" and rhs == 0:
                raise _Bad("division by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def unary() -> Fraction:
        if peek() == "-":
            take()
            return -unary()
        if peek() == "+":
            take()
        return atom()

    def atom() -> Fraction:
        tok = peek()
        if tok == "(":
            take()
            value = expr()
            if peek() != ")":
                raise _Bad("unbalanced")
            take()
        elif tok is not None and re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", tok):
            value = Fraction(take())
        else:
            raise _Bad("unexpected token")
        if peek() == "%":
            take()
            value /= 100
        return value

    value = expr()
    if pos != len(toks):
        raise _Bad("trailing tokens")
    return value


def _agrees(exact: Fraction, shown: str) -> bool:
    shown = shown.replace(",", "").replace("$", "").strip().rstrip("%")
    try:
        got = Fraction(shown)
    except (ValueError, ZeroDivisionError):
        return True  # unreadable result: not a finding
    if got == exact:
        return True
    if exact.denominator == 1:
        return False  # a whole-number result must be shown exactly
    places = len(shown.split(".")[1]) if "." in shown else 0
    scaled = exact * 10**places
    low = scaled.numerator // scaled.denominator
    # rounded or truncated (up or down) to the digits it shows
    return got * 10**places in (low, low + 1)


def _steps(answer: str) -> list[tuple[str, str]]:
    steps = [(m.group(1), m.group(2)) for m in _ANNOTATION.finditer(answer)]
    if steps:
        return steps
    text = re.sub(r"\$[^$]*\\[a-zA-Z][^$]*\$", " ", answer)  # LaTeX spans: sympy's job
    return [(m.group(1), m.group(2)) for m in _PLAIN.finditer(text)]


def check_steps(answer: str) -> tuple[str, str] | None:
    """``(status, explanation)`` for the solution's arithmetic, or ``None`` (nothing to check)."""
    checked, wrong = 0, []
    for lhs, rhs in _steps(answer)[:MAX_STEPS]:
        if not re.search(r"[-+*/x×÷%]", lhs.strip().lstrip("-")):
            continue  # "<<72=72>>" restates a number
        try:
            exact = evaluate(lhs)
        except (_Bad, ValueError, ZeroDivisionError, OverflowError):
            continue
        if not re.fullmatch(rf"\s*-?\$?(?:{_NUMBER})%?\s*", rhs):
            continue
        checked += 1
        if not _agrees(
            exact * (100 if rhs.strip().endswith("%") and "%" not in lhs else 1), rhs
        ):
            wrong.append(f"{lhs.strip()} = {rhs.strip()}")
    if wrong:
        return (
            "refuted",
            f"arithmetic step {wrong[0]} is wrong (sympy-free exact check)",
        )
    if checked:
        noun = "step checks" if checked == 1 else "steps check"
        return (
            "unverifiable",
            f"all {checked} arithmetic {noun} out; the final answer itself is not recomputed",
        )
    return None

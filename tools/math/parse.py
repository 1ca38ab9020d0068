"""Parse untrusted math text into sympy without ever evaluating it as Python.

Two front ends:

* LaTeX goes through ``latex2sympy2_extended`` (an ANTLR grammar; no ``eval``).
* Plain text (``3x^2 + 4x - 5``, ``sqrt(2)/2``) goes through sympy's ``parse_expr``, which
  does call ``eval`` internally, so the input is first split into tokens and rejected unless
  every token is a number, a whitelisted name or an arithmetic operator; and the
  ``global_dict`` handed to ``parse_expr`` is built from a whitelist, with empty
  ``__builtins__``. No dot outside a number, no underscore, no quote, no bracket, so no
  attribute access, dunder, string or lambda can reach ``eval``.

Both reject inputs that are too long or raise a number to an enormous power before any
sympy work starts. Everything here runs inside a sandboxed worker
(:mod:`qwen_router.tools.math.sandbox`) that is killed if it overruns its time.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from latex2sympy2_extended.latex2sympy2 import (
    ConversionConfig,
    NormalizationConfig,
    latex2sympy,
    normalize_latex,
)
from sympy.parsing.sympy_parser import (
    auto_number,
    auto_symbol,
    convert_xor,
    factorial_notation,
    implicit_multiplication,
    parse_expr,
    split_symbols,
)

__all__ = [
    "MAX_EXPR_CHARS",
    "PlainSyntaxError",
    "UnsafeInput",
    "looks_latex",
    "parse_latex",
    "parse_math",
    "parse_plain",
]

MAX_EXPR_CHARS = 2000
_NORMALIZE = NormalizationConfig(
    basic_latex=True,
    units=True,
    malformed_operators=True,
    nits=True,
    boxed="all",
    equations=False,
)
# "2(5)" is 2*5 in a question, not the mixed number 2 5/... ; mixed numbers are read by _MIXED.
_CONVERSION = ConversionConfig(interpret_as_mixed_fractions=False)


class UnsafeInput(ValueError):
    """The text is too long or asks for a number too large to compute."""


class PlainSyntaxError(ValueError):
    """The text holds a token outside the plain-math whitelist (it is never evaluated)."""


# Exponent guard: a numeric base to a power of 5+ digits, or a tower of numeric powers.
_HUGE_POWER = re.compile(
    r"(?:\^|\*\*)\s*[{(]*\s*\d{5,}|(?:\^|\*\*)\s*[{(]*\s*\d+\s*[})]*\s*(?:\^|\*\*)\s*[{(]*\s*\d"
    r"|\d{400,}|!\s*!|\d{4,}\s*!"
)


def _guard(text: str) -> None:
    if len(text) > MAX_EXPR_CHARS:
        raise UnsafeInput(f"expression longer than {MAX_EXPR_CHARS} characters")
    if _HUGE_POWER.search(text):
        raise UnsafeInput("expression asks for an enormous power or factorial")


def looks_latex(text: str) -> bool:
    """True when the text uses LaTeX markup rather than plain calculator syntax."""
    return bool(re.search(r"\\[a-zA-Z]|[{}]|\\\\", text))


# -- LaTeX --------------------------------------------------------------------------------

_FRAC_EXP = re.compile(r"\^\s*(\\[dt]?frac\s*(?:\{[^{}]*\}|\d)\s*(?:\{[^{}]*\}|\d))")
_JUXTAPOSED = re.compile(
    r"(?<=[\d)])\s*(?=\(|\\left\(|\\sqrt|\\[dt]?frac|\\pi\b|\\d?binom)"
)
_MIXED = re.compile(r"(?<![\d.}^_])(\d+)\s*\\[dt]?frac\s*\{(\d+)\}\s*\{(\d+)\}")


def parse_latex(
    text: str, *, degrees: bool = False, mixed_numbers: bool = False
) -> Any:
    """LaTeX → sympy (expression, equation, relation, set, interval, tuple or matrix).

    ``degrees`` turns ``^\\circ`` into radians (for trig in questions); ``mixed_numbers``
    reads ``4\\frac{5}{8}`` as 4 + 5/8 (the usual reading in a problem statement).
    """
    _guard(text)
    text = _FRAC_EXP.sub(r"^{\1}", text)
    if mixed_numbers:
        text = _MIXED.sub(r"(\1+\\frac{\2}{\3})", text)
        # latex2sympy reads an integer followed by a rational as a mixed number even in
        # "2(5)" or "(21)(19)" (= 7, 40); make those products explicit.
        text = _JUXTAPOSED.sub(r" \\cdot ", text)
    text = normalize_latex(text, _NORMALIZE)
    _guard(text)
    return latex2sympy(
        text,
        convert_degrees=degrees,
        normalization_config=None,
        conversion_config=_CONVERSION,
    )


# -- plain text ---------------------------------------------------------------------------

_FUNCS: dict[str, Any] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "cot": sympy.cot,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "ceiling": sympy.ceiling,
}
_CONSTS: dict[str, Any] = {
    "pi": sympy.pi,
    "e": sympy.E,
    "oo": sympy.oo,
    "inf": sympy.oo,
    "infty": sympy.oo,
}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z]+)|(\*\*|[-+*/^(),=!<>]))")
_SCI = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-+]?\d+)(?![\w.])")
_MAX_NAME = 3  # unknown names up to 3 letters are products of symbols (xy, abc)


def _check_tokens(text: str) -> None:
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                return
            raise PlainSyntaxError(f"unexpected character {text[pos]!r} in expression")
        name = m.group(2)
        if (
            name
            and name not in _FUNCS
            and name not in _CONSTS
            and len(name) > _MAX_NAME
        ):
            raise PlainSyntaxError(f"unknown name {name!r} in expression")
        pos = m.end()


def _global_dict() -> dict[str, Any]:
    allowed: dict[str, Any] = {
        "__builtins__": {},
        "Integer": sympy.Integer,
        "Float": sympy.Float,
        "Rational": sympy.Rational,
        "Symbol": sympy.Symbol,
        "Function": sympy.Function,
        "factorial": sympy.factorial,
    }
    allowed.update(_FUNCS)
    allowed.update(_CONSTS)
    return allowed


_TRANSFORMS = (
    auto_symbol,
    auto_number,
    factorial_notation,
    convert_xor,
    split_symbols,
    implicit_multiplication,
)


def parse_plain(text: str) -> Any:
    """Plain calculator math → sympy; ``a = b`` becomes ``Eq(a, b)``.

    Raises:
        PlainSyntaxError: a token outside the whitelist (nothing was evaluated).
        UnsafeInput: the input is too long or asks for an enormous number.
    """
    _guard(text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)", text)
    text = text.replace("$", "")
    text = _SCI.sub(r"(\1*10^(\2))", text)  # 1.2e1 is 12, not 1.2 times Euler's e
    _check_tokens(text)
    sides = text.split("=")
    if len(sides) > 2 or any(not s.strip() for s in sides):
        raise PlainSyntaxError("not a single expression or equation")
    parsed = [
        parse_expr(
            s, local_dict={}, global_dict=_global_dict(), transformations=_TRANSFORMS
        )
        for s in sides
    ]
    return sympy.Eq(*parsed, evaluate=False) if len(parsed) == 2 else parsed[0]


def parse_math(text: str, **latex_options: bool) -> Any:
    """Parse either syntax: plain text first when it has no LaTeX markup."""
    text = text.strip()
    if not text:
        raise UnsafeInput("empty expression")
    if not looks_latex(text):
        try:
            return parse_plain(text)
        except UnsafeInput:
            raise
        except Exception:  # noqa: BLE001 - fall through to the LaTeX grammar
            pass
    return parse_latex(text, **latex_options)

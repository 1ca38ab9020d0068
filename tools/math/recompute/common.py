"""Small helpers shared by the topic recognisers (number theory, counting, series...).

Text helpers are pure string work; :func:`int_value` parses a question's integer
expression through the safe parsers of :mod:`qwen_router.tools.math.parse` (never
``eval``), with two shortcuts sympy would be slow or unsafe on: ``a^b`` reduced modulo
``m`` (``pow(a, b, m)``), and sums written with ``\\dots`` (see
:mod:`qwen_router.tools.math.recompute.series`).
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from ..answer.extract import normalize_text
from ..parse import UnsafeInput, looks_latex, parse_latex, parse_plain
from .expected import Unsupported
from .series import has_dots, series_value

__all__ = [
    "NUMBER",
    "clean_question",
    "count_word",
    "int_value",
    "number_in",
    "span_or_number",
]

_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_TENS = {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_WORDS)}
NUMBER_WORDS.update(_TENS)
NUMBER_WORDS.update(
    {"a hundred": 100, "one hundred": 100, "a thousand": 1000, "one thousand": 1000}
)

# a number as written in a question: "$129^{34}+96^{38}$", "54", "1,000", "six"
NUMBER = (
    r"(?:\$[^$]{1,400}\$|\d{1,3}(?:,\d{3})+|\d+|"
    + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    + r")"
)


def clean_question(question: str) -> str:
    """Unicode normalised, whitespace collapsed, ``$$``/``\\[ \\]`` turned into ``$``."""
    q = normalize_text(question)
    q = re.sub(r"\$\$(.+?)\$\$", r"$\1$", q, flags=re.S)
    q = re.sub(r"\\\[(.+?)\\\]", r"$\1$", q, flags=re.S)
    q = re.sub(r"\\\((.+?)\\\)", r"$\1$", q, flags=re.S)
    q = re.sub(r"\$\s*\$", " ", q)
    q = re.sub(r"(?:\\[,;!]|~|\s)*([?.,;])(?:\\[,;!]|~|\s)*\$(?=\s|$)", r"$\1", q)
    q = re.sub(r"\s+", " ", q).strip()
    q = re.sub(
        r"\s*([.,;:])?\s*\$([?.!])?$",
        lambda m: "$" + (m.group(2) or m.group(1) or ""),
        q,
    )
    return q


def count_word(text: str) -> int | None:
    """``"6"``, ``"six"``, ``"$6$"``, ``"1,000"`` → the integer, else ``None``."""
    t = text.strip().strip("$").strip().lower()
    t = re.sub(r"(?<=\d),(?:\\!)?(?=\d{3})", "", t)
    if re.fullmatch(r"\d{1,7}", t):
        return int(t)
    return NUMBER_WORDS.get(t)


def number_in(text: str) -> str:
    """The math inside ``$...$`` or the plain number; thousands separators dropped."""
    t = text.strip()
    if t.startswith("$") and t.endswith("$"):
        t = t[1:-1]
    t = re.sub(r"(?<=\d),(?:\\!)?(?=\d{3}(?!\d))", "", t)
    t = re.sub(r"(?:\\[,;!]|\\quad|~)", " ", t).strip().rstrip(".,;:?").strip()
    word = NUMBER_WORDS.get(t.lower())
    return str(word) if word is not None else t


def span_or_number(name: str) -> str:
    """A named group matching :data:`NUMBER`."""
    return f"(?P<{name}>{NUMBER})"


_MODPOW = re.compile(r"^\s*\(?\s*(-?\d+)\s*\)?\s*(?:\^|\*\*)\s*\{?\s*(\d+)\s*\}?\s*$")


def int_value(text: str, *, modulus: int | None = None) -> int:
    """The integer a question's expression stands for (``modulus``: reduced mod it).

    Raises :class:`Unsupported` when the text is not an integer expression.
    """
    t = number_in(text)
    if not t:
        raise Unsupported("empty expression")
    if modulus is not None:
        terms = _split_terms(t)
        if terms is not None and all(_MODPOW.match(x) for _, x in terms):
            total = 0
            for sign, term in terms:
                m = _MODPOW.match(term)
                assert m is not None
                total += sign * pow(int(m.group(1)), int(m.group(2)), modulus)
            return total % modulus
    value = parse_value(t)
    if not isinstance(value, sympy.Expr) or value.free_symbols:
        raise Unsupported("not a number")
    value = sympy.nsimplify(value) if isinstance(value, sympy.Float) else value
    if not value.is_integer:
        raise Unsupported("not an integer")
    value = int(value)
    return value % modulus if modulus else value


def _split_terms(t: str) -> list[tuple[int, str]] | None:
    """``a^b + c^d - e`` → signed terms, or ``None`` when it is not a flat sum."""
    if "(" in t.replace("\\left(", "").replace("\\right)", "") and not re.fullmatch(
        r"[\d\s^{}()+\-*]+", t
    ):
        return None
    parts = re.split(r"(?<=[\d}])\s*([+-])\s*", t.strip())
    out: list[tuple[int, str]] = []
    sign = 1
    first = parts[0]
    if first.startswith("-"):
        sign, first = -1, first[1:]
    out.append((sign, first))
    for op, term in zip(parts[1::2], parts[2::2], strict=False):
        out.append((1 if op == "+" else -1, term))
    return out


def parse_value(t: str) -> Any:
    """Parse a question fragment (LaTeX or plain); sums with ``\\dots`` are expanded."""
    if has_dots(t):
        return series_value(t)
    if not looks_latex(t):
        try:
            return parse_plain(t)
        except UnsafeInput:
            raise
        except Exception:  # noqa: BLE001 - LaTeX-ish after all
            pass
    return parse_latex(t, degrees=True, mixed_numbers=True)

"""Is an extracted answer words rather than mathematics (pure string work)?"""

from __future__ import annotations

import re

__all__ = ["is_prose", "word_answer"]

_MATH_WORDS = re.compile(
    r"\\(?:begin|end)\s*\{[a-zA-Z*]+\}|\\(?:operatorname|mathrm|mathbb|mathcal)\s*\{[A-Za-z]{1,6}\}"
    r"|\\[a-zA-Z]+|\b(?:sqrt|sin|cos|tan|cot|sec|csc|log|ln|exp|pi|arcsin|arccos|arctan|"
    r"infty|inf|mod|gcd|lcm|and|or)\b"
)


def is_prose(text: str) -> bool:
    """True when the text holds a word of three letters or more that is not math notation
    (``\\frac``, ``sqrt``, ``\\text{cm}`` stripped of its command): "The largest n is 34"."""
    return bool(re.search(r"[A-Za-z]{3,}", _MATH_WORDS.sub(" ", text)))


_WORD_WRAP = re.compile(
    r"\\(?:text|textbf|mathrm|mathbf|textit|mbox|operatorname)\s*\{([^{}]*)\}"
)


def word_answer(text: str) -> str | None:
    """A one-to-three word answer ("odd", ``\\text{Even}``, "neither") in lower case, else ``None``."""
    s = _WORD_WRAP.sub(r"\1", text)
    s = re.sub(r"[\s$.,!*()\[\]{}]+", " ", s).strip().lower()
    if re.fullmatch(r"[a-z]{2,}(?: [a-z]{2,}){0,2}", s) and is_prose(s):
        return s
    return None

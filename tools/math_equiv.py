"""Answer equivalence through math-verify: symbolic equality, numeric tolerance, sets,
intervals, tuples and matrices, with our safe parser in front for chat-style answers.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig
from math_verify import parse as mv_parse
from math_verify import verify as mv_verify

from .math_extract import split_label
from .math_parse import UnsafeInput, looks_latex, parse_latex, parse_math

__all__ = [
    "answer_candidates",
    "equivalent",
    "parse_answer",
    "parse_reference",
    "to_gold",
]

_CONFIG = (LatexExtractionConfig(), ExprExtractionConfig())


def _mv(text: str) -> list[Any]:
    return list(mv_parse(text, extraction_config=_CONFIG, parsing_timeout=None))  # type: ignore[arg-type]


def parse_reference(reference: str) -> list[Any]:
    """A dataset/user reference answer → math-verify's gold list (empty if unreadable)."""
    ref = reference.strip()
    if not ref:
        return []
    if "$" in ref or "\\boxed" in ref:
        return _mv(ref)
    gold = _mv(f"${ref}$")
    return gold or _mv(ref)


def _split_multi(text: str) -> list[str]:
    """``x = 2 or x = 3`` / ``x=1, x=2`` → the separate values (labels dropped)."""
    parts = re.split(r"\s*(?:,|;|\bor\b|\band\b|\\text\{\s*(?:or|and)\s*\})\s*", text)
    if len(parts) > 1 and all("=" in p for p in parts if p.strip()):
        return [split_label(p) for p in parts if p.strip()]
    return []


def answer_candidates(extracted: str) -> list[str]:
    """The strings worth parsing for one extracted answer, most specific first."""
    out = []
    multi = _split_multi(extracted)
    if multi:
        out.append(", ".join(multi))
    label_free = split_label(extracted)
    out += [label_free, extracted]
    return list(dict.fromkeys(s for s in out if s))


def parse_answer(
    extracted: str, full_text: str | None = None, *, keep_label: bool = False
) -> list[Any]:
    """The model's answer → a list for :func:`equivalent` (sympy objects and strings).

    ``keep_label`` parses ``y = -2x`` as the equation instead of its right-hand side.
    Tries math-verify's LaTeX reader on the extracted answer, then our whitelisted plain
    parser, then math-verify on the whole text (its own final-answer cues).
    """
    for cand in [extracted] if keep_label else answer_candidates(extracted):
        if (
            "," in cand
            or looks_latex(cand)
            or "=" in cand
            or not re.search(r"[A-Za-z]{2,}", cand)
        ):
            parsed = _mv(f"${cand}$")
            if parsed and not isinstance(parsed[0], str):
                return parsed
        try:
            value = parse_math(cand)
        except UnsafeInput:
            raise
        except Exception:  # noqa: BLE001 - unreadable candidate, try the next one
            continue
        if isinstance(value, sympy.Basic):
            return [value, cand]
    if full_text is not None:
        return _mv(full_text)
    return []


def to_gold(value: Any) -> list[Any]:
    """A value we computed → a gold list (its sympy object and its LaTeX)."""
    if isinstance(value, (list, tuple)) and not isinstance(value, sympy.Basic):
        value = sympy.FiniteSet(*value)
    try:
        text = sympy.latex(value)
    except Exception:  # noqa: BLE001
        text = str(value)
    return [value, text]


def equivalent(gold: list[Any], pred: list[Any]) -> bool:
    """math-verify's comparison, without its signal-based timer (the worker has its own)."""
    if not gold or not pred:
        return False
    return bool(
        mv_verify(
            [_plain(g) for g in gold], [_plain(p) for p in pred], timeout_seconds=None
        )
    )


def _plain(value: Any) -> Any:
    """Drop symbol assumptions so ``x`` from one parser equals ``x`` from the other."""
    if isinstance(value, sympy.Basic) and value.free_symbols:
        return value.xreplace({s: sympy.Symbol(s.name) for s in value.free_symbols})
    return value


def latex_value(text: str) -> Any:
    """Parse a LaTeX fragment from a question (degrees and mixed numbers as a problem means)."""
    return parse_latex(text, degrees=True, mixed_numbers=True)

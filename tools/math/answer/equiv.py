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
from sympy.logic.boolalg import BooleanAtom

from ..parse import UnsafeInput, looks_latex, parse_latex, parse_math
from .extract import extract_answer, find_boxed, split_label

__all__ = [
    "answer_candidates",
    "equivalent",
    "mv_parse_text",
    "parse_answer",
    "parse_reference",
    "plain_symbols",
    "to_gold",
    "truncated",
]

_CONFIG = (LatexExtractionConfig(), ExprExtractionConfig())


def _mv(text: str) -> list[Any]:
    return list(mv_parse(text, extraction_config=_CONFIG, parsing_timeout=None))  # type: ignore[arg-type]


def mv_parse_text(text: str) -> list[Any]:
    """math-verify's own reading of a whole response (its answer cues, LaTeX and plain)."""
    return _mv(text)


_SCI = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([-+]?\d+)(?![\w.])")
_SPACED_THOUSANDS = re.compile(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_DECIMAL_COMMA = re.compile(r"-?\d{4,},\d{1,2}")  # 1000,99; "1,2" stays a list


def _numeral_forms(text: str) -> list[str]:
    """``1.2e1`` → ``1.2\\times 10^{1}``; ``1 000`` → ``1000``; ``1000,99`` → ``1000.99``."""
    out = []
    if _SCI.search(text):
        out.append(_SCI.sub(r"\1\\times 10^{\2}", text))
    t = text.strip()
    if _SPACED_THOUSANDS.fullmatch(t):
        out.append(t.replace(" ", ""))
    if _DECIMAL_COMMA.fullmatch(t):
        out.append(t.replace(",", "."))
    return out


def parse_reference(reference: str) -> list[Any]:
    """A dataset/user reference answer → math-verify's gold list (empty if unreadable)."""
    ref = reference.strip()
    if not ref:
        return []
    if "$" in ref or "\\boxed" in ref:
        gold = _mv(ref)
        bare = re.sub(r"^\$+|\$+$", "", ref).strip()
        if gold and "$" not in bare and _truncated(gold, bare):
            gold = _direct(bare, gold)
        boxed = find_boxed(ref)
        if len(boxed) > 1 or (boxed and _AND.search(boxed[-1][2])):
            found = extract_answer(
                ref
            )  # \boxed{1} and \boxed{2}: one answer of two parts
            if found is not None:
                gold += parse_reference(_AND.sub(", ", found.text))
        return gold
    gold = _mv(f"${ref}$")
    if gold and _truncated(gold, ref):
        gold = _direct(ref, gold)
    joined = _AND.sub(", ", ref)
    if joined != ref:
        gold += _mv(f"${joined}$")
    return gold or _mv(ref)


def _split_multi(text: str) -> list[str]:
    """``x = 2 or x = 3`` / ``x=1, x=2`` → the separate values (labels dropped)."""
    parts = re.split(r"\s*(?:,|;|\bor\b|\band\b|\\text\{\s*(?:or|and)\s*\})\s*", text)
    if len(parts) > 1 and all("=" in p for p in parts if p.strip()):
        return [split_label(p) for p in parts if p.strip()]
    return []


_AND = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|\b(?:and|or)\b)\s*")


def answer_candidates(extracted: str) -> list[str]:
    """The strings worth parsing for one extracted answer, most specific first."""
    out = _numeral_forms(extracted)
    multi = _split_multi(extracted)
    if multi:
        out.append(", ".join(multi))
    label_free = split_label(extracted)
    joined = _AND.sub(", ", label_free)
    if joined != label_free:
        out.append(joined)
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
            if (
                parsed
                and not isinstance(parsed[0], str)
                and not _truncated(parsed, cand)
            ):
                return [*parsed, *_decimal_comma(extracted)]
        try:
            value = parse_math(cand)
        except UnsafeInput:
            raise
        except Exception:  # noqa: BLE001 - unreadable candidate, try the next one
            continue
        if isinstance(value, sympy.Basic):
            return [value, cand, *_decimal_comma(extracted)]
    if full_text is not None:
        return _mv(full_text)
    # nothing parses: math-verify compares such answers as text, exact matches only
    return [s for s in _mv(f"${extracted}$") if isinstance(s, str)]


def _direct(text: str, fallback: list[Any]) -> list[Any]:
    """Our own parse of ``text`` when math-verify read only part of it."""
    try:
        return [parse_math(text), text]
    except UnsafeInput:
        raise
    except Exception:  # noqa: BLE001 - keep math-verify's text only (exact matches)
        return [g for g in fallback if isinstance(g, str)]


def truncated(parsed: list[Any], source: str) -> bool:
    """Public name of :func:`_truncated` for the reference comparison."""
    return _truncated(parsed, source)


def _decimal_comma(text: str) -> list[Any]:
    """``2,74`` may be 2.74 written with a decimal comma: offered as a second reading."""
    t = text.strip()
    if re.fullmatch(r"-?\d{1,3},\d{2}", t):
        return [sympy.Float(t.replace(",", "."), 15)]
    return []


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _truncated(parsed: list[Any], source: str) -> bool:
    """math-verify read only a prefix of ``source`` (``1 - \\frac{1}{\\mathrm{e}}`` → 1)."""
    seen = next((p for p in parsed if isinstance(p, str)), None)
    if seen is None:
        return False
    a, b = _squash(seen), _squash(source)
    return len(a) + 3 <= len(b) and b.startswith(a)


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
    """math-verify's comparison (sets, intervals, tuples, relations against sets), without
    its signal-based timer (the worker has its own).

    Values that collapsed to ``True``/``False`` while being built (``Eq(n, {1, 2})`` with
    fresh symbols) are never compared: two unrelated equations would both be ``False``.
    """
    gold = [g for g in (plain_symbols(v) for v in gold) if not _collapsed(g)]
    pred = [p for p in (plain_symbols(v) for v in pred) if not _collapsed(p)]
    if not gold or not pred:
        return False
    return bool(
        mv_verify(gold, pred, timeout_seconds=None, allow_set_relation_comp=True)
    )


def _collapsed(value: Any) -> bool:
    return isinstance(value, BooleanAtom)


def plain_symbols(value: Any) -> Any:
    """Drop symbol assumptions (``Symbol('x', real=True)`` → ``Symbol('x')``) so ``x`` from
    one parser equals ``x`` from the other, keeping the structure: relations are rebuilt
    unevaluated, so ``Eq(n, {1, 2})`` stays an equation instead of becoming ``False``."""
    if not isinstance(value, sympy.Basic) or not value.free_symbols:
        return value
    fresh = {
        s: sympy.Symbol(s.name)
        for s in value.free_symbols
        if isinstance(s, sympy.Symbol)
    }
    return _rebuild(value, fresh)


def _rebuild(value: Any, fresh: dict[Any, Any]) -> Any:
    if value in fresh:
        return fresh[value]
    if not isinstance(value, sympy.Basic) or not value.args or not value.free_symbols:
        return value
    args = [_rebuild(a, fresh) for a in value.args]
    if isinstance(value, sympy.core.relational.Relational):
        return value.func(*args, evaluate=False)
    try:
        return value.func(*args)
    except Exception:  # noqa: BLE001 - a node that will not rebuild keeps its symbols
        return value


def latex_value(text: str) -> Any:
    """Parse a LaTeX fragment from a question (degrees and mixed numbers as a problem means)."""
    return parse_latex(text, degrees=True, mixed_numbers=True)

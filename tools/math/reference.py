"""Compare a model's final answer with a given reference answer.

Labels and values are compared separately: ``y = 3, 4`` against ``x = 1, 2`` differs in
its label before its values are looked at. Word answers (``odd``, ``\\text{neither}``)
are compared as words. An answer that fails to match but is prose rather than
mathematics is ``unverifiable``, never ``refuted``.
"""

from __future__ import annotations

import re

from .answer.equiv import (
    equivalent,
    mv_parse_text,
    parse_answer,
    parse_reference,
    truncated,
)
from .answer.extract import Extraction, find_boxed, label_of, split_label
from .answer.words import is_prose, word_answer

__all__ = ["against_reference", "bare_reference"]

# kinds of extraction weak enough that math-verify's own reading of the whole text may
# settle them (it knows more answer cues); the last number is never one of them
_FULL_TEXT_KINDS = {"math-span", "last-equation"}


def bare_reference(reference: str) -> str:
    """The reference without ``$...$`` / ``\\(...\\)`` / ``\\boxed{...}`` around it."""
    ref = reference.strip()
    for _ in range(3):
        m = re.fullmatch(r"\$\$?(.+?)\$?\$|\\\((.+)\\\)|\\\[(.+)\\\]", ref, re.DOTALL)
        if m:
            ref = next(g for g in m.groups() if g is not None).strip()
        boxed = find_boxed(ref)
        if len(boxed) == 1 and boxed[0][0] == 0 and boxed[0][1] == len(ref):
            ref = boxed[0][2].strip()
    return ref


def _word_check(found: Extraction | None, gold_word: str) -> tuple[str, str]:
    got = word_answer(found.text) if found is not None else None
    if got == gold_word:
        return "verified", "the final answer matches the reference"
    if got is not None:
        return (
            "refuted",
            f"the final answer {got!r} differs from the reference {gold_word!r}",
        )
    return (
        "unverifiable",
        "the reference is a word; the final answer holds no such word",
    )


def against_reference(
    answer: str, found: Extraction | None, reference: str
) -> tuple[str, str]:
    """``(status, explanation)`` for ``answer`` (whose final answer is ``found``)."""
    bare = bare_reference(reference)
    gold_word = word_answer(bare)
    if gold_word is not None and not re.search(r"\d", bare):
        return _word_check(found, gold_word)
    if found is None:
        return "unverifiable", "no final answer found in the response"
    extracted = found.text
    gold = parse_reference(reference)
    if not gold:
        return "unverifiable", "could not read the reference answer"
    gold_label, pred_label = label_of(bare), label_of(extracted)
    if gold_label and pred_label and gold_label != pred_label:
        return (
            "refuted",
            f"the final answer is about {pred_label}, the reference about {gold_label}",
        )
    pred = parse_answer(extracted)
    ok = equivalent(gold, pred)
    if not ok and gold_label:
        ok = equivalent(parse_reference(split_label(bare)), pred)
    if not ok and "=" in extracted:
        ok = equivalent(gold, parse_answer(extracted, keep_label=True))
    if not ok and found.kind in _FULL_TEXT_KINDS:
        alt = mv_parse_text(answer)
        ok = not truncated(alt, extracted) and equivalent(gold, alt)
    if ok:
        return "verified", "the final answer matches the reference"
    if all(isinstance(p, str) for p in pred):
        return "unverifiable", "could not read the final answer as math"
    if is_prose(extracted):
        return "unverifiable", "the final answer is prose, not mathematics"
    return (
        "refuted",
        f"the final answer {extracted} differs from the reference {reference.strip()}",
    )

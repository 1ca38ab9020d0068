"""Choosing between an answer and its repair (pure; no sympy, no I/O).

After a verifier refutes an answer, the router asks the model again with the checker's
finding. :func:`choose_repair` decides which of the two attempts the user gets:

* a repair that restates the checker's message ("A checker looked at your answer...") is
  never preferred: the model parroted the prompt instead of answering;
* a repair cut off by the length limit (``finish_reason == "length"``) is flagged, and kept
  only when it verifies;
* otherwise the repair wins when its status ranks at least as high as the earlier one
  (``verified`` > ``unverifiable`` > ``refuted``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["RANK", "RepairChoice", "choose_repair", "restates"]

RANK = {"refuted": 0, "unverifiable": 1, "skipped": 1, "verified": 2}
_MIN_ECHO_CHARS = 40


@dataclass(frozen=True)
class RepairChoice:
    """``keep_repair``: use the repaired attempt; ``note``: what to tell the user (or "")."""

    keep_repair: bool
    parroted: bool
    truncated: bool
    note: str


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def restates(text: str, feedback: str) -> bool:
    """True when ``text`` repeats a long stretch of ``feedback`` (the repair prompt)."""
    a, b = _norm(text), _norm(feedback)
    if not a or not b:
        return False
    need = min(_MIN_ECHO_CHARS, max(12, len(b) // 2))
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(
        0, len(a), 0, len(b)
    )
    return match.size >= need


def choose_repair(
    previous_status: str,
    repair_status: str,
    repair_text: str,
    *,
    feedback: str = "",
    finish_reason: str | None = None,
) -> RepairChoice:
    """Decide whether the repaired attempt replaces the best earlier one.

    ``previous_status`` / ``repair_status`` are verification statuses, ``repair_text`` the
    repair's answer, ``feedback`` the repair prompt the model was given, ``finish_reason``
    the repair's finish reason.
    """
    truncated = finish_reason == "length"
    if feedback and restates(repair_text, feedback):
        return RepairChoice(
            False,
            True,
            truncated,
            "the repair repeated the checker's message; the earlier answer is kept",
        )
    rank_new = RANK.get(repair_status, 0)
    rank_old = RANK.get(previous_status, 0)
    if truncated:
        keep = repair_status == "verified"
        note = "the repair was cut off at the length limit" + (
            "" if keep else "; the earlier answer is kept"
        )
        return RepairChoice(keep, False, True, note)
    return RepairChoice(rank_new >= rank_old, False, False, "")

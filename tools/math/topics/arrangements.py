"""Counting with conditions: a row where some people sit together (or apart), people
assigned to distinct rooms, and balls in boxes (distinguishable or not, either side).

Every recogniser matches the whole question; a condition it does not know leaves it alone.
"""

from __future__ import annotations

import re

import sympy
from sympy.functions.combinatorial.numbers import nT, stirling

from ..recompute.common import NUMBER_WORDS, clean_question, count_word
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_NUM = r"(\$?\d{1,3}\$?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
_APART = r"(?:do not|don't|must not|cannot|can't|refuse to|do not want to)"
_ROW = re.compile(
    rf"(?i)in how many (?:different )?ways can {_NUM} (?P<a>[a-z]+) and {_NUM} (?P<b>[a-z]+) "
    rf"(?:sit|stand|be seated|line up|be arranged) in a (?:row|line) if the (?:{_NUM} )?(?P<c>[a-z]+) "
    rf"(?P<neg>{_APART} )?(?:insist on sitting|insist on standing|want to sit|must sit|must stand|"
    rf"sit|stand|be seated|be|are) next to each other\s*\?"
)
_SHELF = re.compile(
    rf"(?i)(?:suppose that )?i have {_NUM} (?:different |distinct )?(?P<a>[a-z]+), {_NUM} of which are "
    rf"(?P<c>[a-z]+) (?P=a)\. in how many (?:different )?ways can i (?:stack|arrange|place|put) my {_NUM} "
    rf"(?P=a) (?:on a shelf|in a row) if i (?P<neg>do not want|don't want|want) the (?P=c) (?P=a) to be "
    r"next to each other\s*\?"
)
_ASSIGN = re.compile(
    rf"(?i)if no one shares an? (?P<room>[a-z]+), in how many (?:different )?ways can {_NUM} "
    rf"(?:people|students|employees|workers|guests) be assigned to {_NUM} (?:different |distinct )?(?P=room)s\s*\?"
    r"(?: \(each (?:person|student|employee|worker|guest) gets exactly one (?P=room)\)\.?)?"
)
_BALLS = re.compile(
    rf"(?i)how many ways are there to (?:put|place|distribute) {_NUM} balls (?:in|into) {_NUM} boxes if "
    r"the balls (?P<bd>are|are not) distinguishable and (?P<xd>so are|neither are|the boxes are|"
    r"the boxes are not) (?:the boxes)?\s*\?"
)


def recognize(question: str) -> Task | None:
    """The conditional counting task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 400 or "[asy]" in q:
        return None
    return _row(q) or _shelf(q) or _assign(q) or _balls(q)


def _ints(*words: str | None) -> list[int] | None:
    out = [count_word(w) for w in words if w is not None]
    return None if any(v is None for v in out) else out  # type: ignore[return-value]


def _row(q: str) -> Task | None:
    m = _ROW.fullmatch(q)
    if not m:
        return None
    nums = _ints(m.group(1), m.group(3))
    if nums is None:
        return None
    groups = {m.group("a").lower(): nums[0], m.group("b").lower(): nums[1]}
    k = groups.get(m.group("c").lower())
    if k is None or (m.group(5) is not None and count_word(m.group(5)) != k):
        return None
    return Task(
        "row-together", q, data={"n": sum(nums), "k": k, "apart": bool(m.group("neg"))}
    )


def _shelf(q: str) -> Task | None:
    m = _SHELF.fullmatch(q)
    if not m:
        return None
    nums = _ints(m.group(1), m.group(3), m.group(5))
    if nums is None or nums[0] != nums[2]:
        return None
    apart = m.group("neg").lower() != "want"
    return Task("row-together", q, data={"n": nums[0], "k": nums[1], "apart": apart})


def _together(task: Task) -> Expected:
    n, k = task.data["n"], task.data["k"]
    if not 1 <= k <= n <= 200:
        raise Unsupported("out of range")
    together = sympy.factorial(n - k + 1) * sympy.factorial(k)
    value = sympy.factorial(n) - together if task.data["apart"] else together
    if task.data["apart"] and k > 2:
        raise Unsupported("'not next to each other' for more than two is ambiguous")
    return Expected(value, "value", "sympy:arrangements")


def _assign(q: str) -> Task | None:
    m = _ASSIGN.fullmatch(q)
    nums = _ints(m.group(2), m.group(3)) if m else None
    if nums is None:
        return None
    return Task("assign-distinct", q, data={"k": nums[0], "n": nums[1]})


def _assign_value(task: Task) -> Expected:
    n, k = task.data["n"], task.data["k"]
    if not 0 < k <= n <= 1000:
        raise Unsupported("more people than rooms")
    return Expected(sympy.ff(n, k), "value", "sympy:permutations")


def _balls(q: str) -> Task | None:
    m = _BALLS.fullmatch(q)
    nums = _ints(m.group(1), m.group(2)) if m else None
    if m is None or nums is None:
        return None
    balls_d = m.group("bd").lower() == "are"
    xd = m.group("xd").lower()
    boxes_d = xd in {"so are", "the boxes are"} if balls_d else xd == "the boxes are"
    if not balls_d and xd == "so are":
        return None  # "so are" after "are not" reads as "not distinguishable either"
    return Task(
        "balls-boxes",
        q,
        data={"n": nums[0], "k": nums[1], "balls": balls_d, "boxes": boxes_d},
    )


def _balls_value(task: Task) -> Expected:
    n, k, balls, boxes = (task.data[x] for x in ("n", "k", "balls", "boxes"))
    if not (0 < n <= 60 and 0 < k <= 60):
        raise Unsupported("out of range")
    if balls and boxes:
        value = sympy.Integer(k) ** n
    elif balls:
        value = sum(stirling(n, j) for j in range(1, k + 1))
    elif boxes:
        value = sympy.binomial(n + k - 1, k - 1)
    else:
        value = sum(nT(n, j) for j in range(1, k + 1))
    return Expected(sympy.Integer(value), "value", "sympy:balls-in-boxes")


HANDLERS = {
    "row-together": _together,
    "assign-distinct": _assign_value,
    "balls-boxes": _balls_value,
}

"""Counting questions with a single standard reading.

* arrangements of the letters of a word: ``n! / (a! b! ...)`` over repeated letters
  ("How many ways are there to arrange the letters of the word BANANA?");
* choosing ``k`` of ``n`` distinct things when nothing else is asked ("In how many ways can
  I choose 3 of my 9 books?", "How many ways are there to select 2 cards from 6?");
* ordering ``n`` distinct things in a row or on a shelf ("In how many ways can 5 people
  stand in a line?").

Any condition (``if``, ``such that``, ``next to``, ``not``, roles such as president /
treasurer, circular tables, identical objects, at least / at most) makes the question fall
outside these shapes, and the verifier then says ``unverifiable``.
"""

from __future__ import annotations

import re
from collections import Counter

import sympy

from ..recompute.common import NUMBER_WORDS, clean_question, count_word
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task

__all__ = ["HANDLERS", "recognize"]

_NUM = (
    r"(?:\$?\d{1,4}\$?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
)
_WHO = r"(?:i|we|you|one|he|she|they|[A-Z][a-z]+|the (?:\w+ )?\w+|a (?:\w+ )?\w+)"
_HOW = (
    rf"(?:in how many (?:different |distinct )?ways can(?: {_WHO})?|how many (?:different |distinct )?ways "
    rf"(?:are there (?:for {_WHO} )?to|can {_WHO})|(?:find |determine |what is )?the number of "
    rf"(?:different |distinct )?ways (?:for {_WHO} )?to)"
)
_FORBIDDEN = re.compile(
    r"\b(?:if|such|that|unless|next|adjacent|together|apart|not|no|never|without|except|"
    r"must|only|exactly|at least|at most|more|fewer|less|round|circular|circle|table|"
    r"ring|necklace|bracelet|identical|indistinguishable|same|rotations?|reflections?|"
    r"president|vice|secretary|treasurer|captain|co-captain|first|second|third|order|"
    r"ordered|repeat|repetition|replacement|each|both|either|boys?|girls?|men|women|"
    r"vowels?|consonants?|begin|end|start|distinguishable|pairs?|groups?|teams of|prizes?|"
    r"couples?|officers?|roles?|positions?|chairs?|seats?|places?|spots?)s?\b",
    re.I,
)


def recognize(question: str) -> Task | None:
    """The counting task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 300 or "[asy]" in q:
        return None
    return _letters(q) or _choose(q) or _line_up(q)


def _letters(q: str) -> Task | None:
    m = re.fullmatch(
        rf"(?:{_HOW} arrange|how many (?:different |distinct )?(?:arrangements|permutations) "
        rf"(?:are there|can be made|can be formed)? ?of|(?:find |determine |what is )?the number of "
        rf"(?:different |distinct )?(?:arrangements|permutations) of) the letters (?:of|in) the word "
        r"\$?(?:\\(?:text|mathrm)\{)?(?P<w>[A-Za-z]{2,12})\}?\$?\s*[?.!]?",
        q,
        re.I,
    )
    if not m:
        return None
    word = m.group("w")
    if word.lower() == word and len(word) < 3:
        return None
    return Task("count-letters", word, data={"word": word.upper()})


def _choose(q: str) -> Task | None:
    m = re.fullmatch(
        rf"{_HOW} (?:choose|select|pick) (?P<k>{_NUM}) (?:(?:different |distinct )?[a-z]+ )?(?:from|out of|of)"
        rf" (?:(?:a|the) (?:group|set|collection|class|club|list|shelf|box|bag|team|menu) of |(?:my|his|her|their|the) )?"
        rf"(?P<n>{_NUM})(?: (?:different |distinct |available )?[a-z]+){{0,2}}\s*[?.]?",
        q,
        re.I,
    )
    if not m or _FORBIDDEN.search(m.group(0)):
        return None
    k, n = count_word(m.group("k")), count_word(m.group("n"))
    if k is None or n is None:
        return None
    return Task("count-choose", q, data={"n": n, "k": k})


def _line_up(q: str) -> Task | None:
    m = re.fullmatch(
        rf"{_HOW} (?P<n>{_NUM}) (?:different |distinct )?(?:people|persons|students|children|friends|"
        rf"books|cars|runners|objects|items|dogs|cats|animals|songs|pictures|paintings|"
        rf"athletes|players|singers|guests|plants|trophies|flags) (?:be arranged|be lined up|line up|stand|sit|be seated|be placed|be ordered|be shelved)"
        rf"(?: (?:in|on) (?:a|the) (?:row|line|shelf|queue|bookshelf))?\s*[?.]?",
        q,
        re.I,
    )
    if not m or _FORBIDDEN.search(m.group(0)):
        return None
    n = count_word(m.group("n"))
    if n is None:
        return None
    return Task("count-line", q, data={"n": n})


def _letters_value(task: Task) -> Expected:
    counts = Counter(task.data["word"])
    value = sympy.factorial(sum(counts.values()))
    for c in counts.values():
        value /= sympy.factorial(c)
    return Expected(sympy.Integer(value), "value", "sympy:arrangements")


def _choose_value(task: Task) -> Expected:
    n, k = task.data["n"], task.data["k"]
    if not 0 < k <= n <= 10_000:
        raise Unsupported("cannot choose that many")
    return Expected(sympy.binomial(n, k), "value", "sympy:binomial")


def _line_value(task: Task) -> Expected:
    n = task.data["n"]
    if not 0 < n <= 1000:
        raise Unsupported("out of range")
    return Expected(sympy.factorial(n), "value", "sympy:permutations")


HANDLERS = {
    "count-letters": _letters_value,
    "count-choose": _choose_value,
    "count-line": _line_value,
}

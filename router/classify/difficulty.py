"""A cheap hardness estimate in [0, 1] for ``thinking: auto``.

Counts what makes a request take several reasoning steps: many quantities and
sentences in a word problem, LaTeX and proof / counting vocabulary in math,
algorithmic vocabulary and length in code, explicit constraints anywhere.
"""

from __future__ import annotations

import re

from .rules import Evidence

__all__ = ["estimate_difficulty"]

_HARD_MATH = re.compile(
    r"\b(prove|show that|find all|how many ways|probability|integral|derivative|"
    r"polynomial|modulo|remainder|inequality|maximum|minimum|largest|smallest|"
    r"complex number|matrix|sequence|series|combinations?|permutations?)\b|\\(frac|sum|"
    r"int|sqrt|binom)",
    re.I,
)
_HARD_CODE = re.compile(
    r"\b(algorithm|complexity|dynamic programming|recursion|recursive|graph|tree|"
    r"optimi[sz]e|efficient|concurren\w*|thread|async|parse|parser|compiler|"
    r"subsequence|subarray|permutations?|combinations?|shortest path|heap|trie|"
    r"binary search|memoi[sz]\w*|backtrack\w*)\b",
    re.I,
)
_CONSTRAINT = re.compile(
    r"\b(must|should|at least|at most|exactly|no more than|without|only|each|every|"
    r"unless|except|constraints?)\b|^\s*([-*•]|\d+[.)])\s",
    re.I | re.M,
)
_SENTENCE = re.compile(r"[.?!。？！]+(\s|$)")


def estimate_difficulty(text: str, evidence: Evidence, domain: str) -> float:
    """Hardness in [0, 1]; ``domain`` is the best of general / code / math / others."""
    sample = text[:8000]
    words = len(sample.split())
    sentences = len(_SENTENCE.findall(sample)) or 1
    constraints = len(_CONSTRAINT.findall(sample))
    score = 0.15 * min(words / 300, 1.0) + 0.1 * min(constraints / 6, 1.0)
    if domain == "math":
        score += 0.2 + 0.2 * min(evidence.numbers / 8, 1.0)
        score += 0.15 * min(sentences / 6, 1.0)
        score += 0.2 * min(len(_HARD_MATH.findall(sample)) / 2, 1.0)
    elif domain == "code":
        score += 0.2 + 0.3 * min(len(_HARD_CODE.findall(sample)) / 2, 1.0)
        score += 0.15 * min(sample.count("\n") / 40, 1.0)
    else:
        score += 0.1 * min(sentences / 8, 1.0)
    return round(min(max(score, 0.0), 1.0), 3)

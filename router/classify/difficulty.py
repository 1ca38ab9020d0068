"""A cheap hardness estimate in [0, 1] for ``thinking: auto``.

Counts what makes a request take several reasoning steps: many quantities and
sentences in a word problem, LaTeX and proof / counting vocabulary in math,
algorithmic vocabulary and length in code, explicit constraints anywhere.
"""

from __future__ import annotations

import re

from .patterns import Rule, ScanText
from .rules import Evidence

__all__ = ["estimate_difficulty"]

_HARD_MATH = Rule(
    r"\b(prove|show that|find all|how many ways|probability|integral|derivative|"
    r"polynomial|modulo|remainder|inequality|maximum|minimum|largest|smallest|"
    r"complex number|matrix|sequence|series|combinations?|permutations?)\b|\\(frac|sum|"
    r"int|sqrt|binom)",
    re.I,
)
_HARD_CODE = Rule(
    r"\b(algorithm|complexity|dynamic programming|recursion|recursive|graph|tree|"
    r"optimi[sz]e|efficient|concurren\w{0,40}|thread|async|parse|parser|compiler|"
    r"subsequence|subarray|permutations?|combinations?|shortest path|heap|trie|"
    r"binary search|memoi[sz]\w{0,40}|backtrack\w{0,40})\b",
    re.I,
)
_CONSTRAINT = Rule(
    r"\b(must|should|at least|at most|exactly|no more than|without|only|each|every|"
    r"unless|except|constraints?)\b|^\s{0,8}([-*•]|\d{1,12}[.)])\s",
    re.I | re.M,
)
# Notation and phrasing of competition problems (MATH levels 3-5) rather than
# arithmetic word problems (GSM8K): symbols, counting and "all / possible" questions.
_NOTATION = re.compile(
    r"\\(frac|dfrac|sqrt|sum|prod|int|binom|log|ln|sin|cos|tan|cdot|pi|theta|angle|"
    r"overline|lfloor|lceil|pmatrix|begin|infty|le|ge|leq|geq|neq|equiv|pmod|mid)\b|"
    r"\^\s{0,2}\{?[\w-]{1,6}|[a-z]_\{?\w{1,4}|\|[^|\n]{1,40}\||\bi\b(?=\s{0,2}[+\-^])"
)
_ADVANCED = Rule(
    r"\b(find all|how many (ordered|positive|distinct|different|integers?|ways|real|"
    r"values|solutions|pairs|triples|digits)|largest possible|smallest possible|"
    r"greatest possible|least possible|sum of all|product of all|ordered pairs?|"
    r"positive integers? n|real numbers?|complex numbers?|integer solutions|"
    r"modulo|mod\b|remainder when|divisible by|relatively prime|prime factor\w{0,4}|"
    r"polynomials?|roots|zeros|asymptotes?|tangent|inscribed|circumscribed|"
    r"probability|expected value|sequence|series|geometric|arithmetic sequence|"
    r"base \d{1,2}|digits?|functions? f|f\(x\)|domain|range|inequalit\w{1,4}|"
    r"matri(x|ces)|determinant|vectors?|parabola|ellipse|hyperbola|logarithm\w{0,2})\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<![.?!。？！])[.?!。？！]{1,8}(?=\s|$)")


def estimate_difficulty(text: str, evidence: Evidence, domain: str) -> float:
    """Hardness in [0, 1]; ``domain`` is the best of general / code / math / others."""
    sample = text[:8000]
    scan = ScanText.of(sample)
    words = len(sample.split())
    sentences = len(_SENTENCE.findall(sample)) or 1
    constraints = _CONSTRAINT.count(scan)
    score = 0.15 * min(words / 300, 1.0) + 0.1 * min(constraints / 6, 1.0)
    if domain == "math":
        # Numbers and sentences say "long", not "hard" (GSM8K word problems have
        # many of both); notation and advanced phrasing say "hard".
        notation = len(_NOTATION.findall(sample))
        phrases = {
            sample[m.start() : m.end()].lower() for m in _ADVANCED.finditer(scan)
        }
        advanced = len(phrases)
        score += 0.15 + 0.05 * min(evidence.numbers / 8, 1.0)
        score += 0.25 * min(notation / 6, 1.0)
        score += 0.25 * min(advanced / 3, 1.0)
        score += 0.1 * min(_HARD_MATH.count(scan) / 2, 1.0)
    elif domain == "code":
        score += 0.2 + 0.3 * min(_HARD_CODE.count(scan) / 2, 1.0)
        score += 0.15 * min(sample.count("\n") / 40, 1.0)
    else:
        score += 0.1 * min(sentences / 8, 1.0)
    return round(min(max(score, 0.0), 1.0), 3)

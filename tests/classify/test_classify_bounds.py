"""Every rule pattern is bounded: adversarial input costs about what benign input of
the same length costs, and hypothesis finds no input that breaks the rules.

The timing checks compare two inputs measured in the same test (a ratio), so a slow
or busy machine does not fail them; the old code-syntax rule ``\\w+\\[\\w*\\]`` took ~5 s
on ``"1" * 20000``, hundreds of times the benign cost.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qwen_router.classify import (
    RuleClassifier,
    conversation,
    difficulty,
    latin,
    rules,
    text,
)
from qwen_router.classify.language import detect_language
from qwen_router.classify.rules import code_math_evidence, language_request, scan_view
from qwen_router.classify.text import prose_of
from qwen_router.types import Message

ADVERSARIAL = [
    "1" * 20000,
    "a" * 20000,
    "a[" * 10000,
    "\n" * 20000,
    " " * 19999 + "x",
    "SELECT " * 3000,
    "$a" * 10000,
    "\\(" * 10000,
    "." * 20000,
    "_" * 20000,
    "aA" * 10000,
    "a@" * 10000,
    "a@b." * 5000,
    "1.1" * 7000,
    "def " * 5000,
    "`" * 20000,
    "```" * 7000,
    "translate " * 2000,
    "= 1" * 7000,
    "how many " * 2000,
]
BENIGN = ("The quick brown fox jumps over the lazy dog. " * 500)[:20000]


def _cost(fn, value: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(value)
        best = min(best, time.perf_counter() - t0)
    return best


def _rules_stage(value: str) -> None:
    code_math_evidence(value)
    language_request(value)
    detect_language(prose_of(value))
    difficulty.estimate_difficulty(value, code_math_evidence(value), "math")
    conversation.is_follow_up(value)


@pytest.mark.parametrize("value", ADVERSARIAL, ids=lambda v: repr(v[:8]))
def test_adversarial_costs_like_benign(value: str) -> None:
    benign = _cost(_rules_stage, BENIGN)
    bad = _cost(_rules_stage, value)
    # linear patterns differ by a small factor; quadratic ones by 100s
    assert bad < max(8 * benign, 0.05), (bad, benign)


def test_rules_scan_a_bounded_view() -> None:
    long = "x " * 100_000 + "How many apples are left if I eat 2 of 5?"
    view = scan_view(long)
    assert len(view) <= rules.SCAN_HEAD + rules.SCAN_TAIL + 1
    assert view.endswith("2 of 5?")  # the final question is kept


def test_no_unbounded_quantifier_in_rule_patterns() -> None:
    """The source of every rule pattern uses bounded repeats (``{m,n}``), apart from
    separated repeats such as ``(?:[.,]\\d{1,12})*``."""
    modules = (rules, text, difficulty, latin, conversation)
    unbounded = re.compile(r"(\\[wsdS]|\.|\])[*+](?!\?)")
    found = []
    for mod in modules:
        for name, value in vars(mod).items():
            patterns = value if isinstance(value, list) else [value]
            for item in patterns:
                pat = item[1] if isinstance(item, tuple) else item
                if isinstance(pat, re.Pattern) and unbounded.search(pat.pattern):
                    found.append((mod.__name__, name, unbounded.findall(pat.pattern)))
    # one repeated class and nothing else is linear: it cannot backtrack
    allowed = {
        ("qwen_router.classify.text", "_CONTROL"),
        ("qwen_router.classify.text", "_NOT_PROSE"),
        ("qwen_router.classify.text", "_SPACES"),
    }
    assert [f for f in found if (f[0], f[1]) not in allowed] == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_fuzz_rules_never_break(value: str) -> None:
    ev = code_math_evidence(value)
    assert ev.code >= 0 and ev.math >= 0 and ev.general >= 0
    lang = detect_language(prose_of(value))
    assert 0.0 <= lang.p_english <= 1.0 and 0.0 <= lang.confidence <= 1.0


_PIECES = st.sampled_from(
    ["1", "a", "[", "]", "$", "\\(", "```", " ", "\n", ".", "_", "@", "SELECT ",
     "FROM ", "def ", "x=", "^2", "¿", "é", "ß", "Ω", "中", "how many ", "translate "]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=40), st.integers(1, 300))
def test_fuzz_classifier_on_repeated_fragments(pieces: list[str], times: int) -> None:
    value = "".join(pieces) * times
    d = RuleClassifier().classify([Message(role="user", content=value)])
    assert d.route in {"general", "code", "math", "multilingual"}
    assert 0.0 <= d.confidence <= 1.0

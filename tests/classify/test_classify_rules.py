"""The rule stage's evidence: code and math markers, language requests."""

from __future__ import annotations

from qwen_router.classify.rules import (
    code_math_evidence,
    evidence_probs,
    language_request,
)


def test_code_markers() -> None:
    ev = code_math_evidence("```python\ndef add(a, b):\n    return a + b\n```")
    assert ev.code >= 8 and ev.code > ev.math
    assert any("code fence" in r for r in ev.reasons)
    trace = (
        "Traceback (most recent call last):\n"
        '  File "a.py", line 3, in <module>\nKeyError: 1'
    )
    assert code_math_evidence(trace).code >= 3


def test_math_markers_latex_and_equations() -> None:
    ev = code_math_evidence(
        r"Find all $x$ such that $x^2 - 4x + 3 = 0$ and \frac{x}{2} > 1."
    )
    assert ev.math >= 7 and ev.math > ev.code


def test_word_problem_without_math_keywords() -> None:
    ev = code_math_evidence(
        "Anna bakes 36 cookies and gives 5 to each of her 4 friends. "
        "How many cookies does she have left?"
    )
    assert any("word problem" in r for r in ev.reasons)
    probs = evidence_probs(ev.scores(), baseline=3.0, scale=1.0)
    assert probs["math"] > 0.8


def test_word_problem_in_other_languages() -> None:
    ru = (
        "У Маши было 12 яблок, она отдала 5 яблок брату. Сколько яблок осталось у Маши?"
    )
    sw = (
        "Juma ana machungwa 20 na anauza 7 kila siku. "
        "Atabaki na machungwa mangapi baada ya siku 2?"
    )
    zh = "小明有15个苹果，他给了妹妹6个，又买了4个。他现在有多少个苹果？"
    for text in (ru, sw, zh):
        ev = code_math_evidence(text)
        assert ev.math >= 3, (text, ev)


def test_short_question_with_a_year_is_not_math() -> None:
    ev = code_math_evidence("Wer gewann 1954 die Fußballweltmeisterschaft?")
    assert ev.math < 3


def test_language_requests() -> None:
    assert language_request("Translate 'good night' into Italian please")
    assert language_request("Explain the Spanish subjunctive with examples")
    assert language_request("How do I conjugate this verb in French?")
    assert language_request("Who was the first president of France?") is None
    assert language_request("Translate this Python function to Rust") is None

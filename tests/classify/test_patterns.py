"""Case-insensitive rules run over case-folded text and find what ``re.I`` finds."""

from __future__ import annotations

import re

import pytest
from qwen_router.classify import conversation, difficulty, rules
from qwen_router.classify.patterns import Rule, ScanText
from qwen_router.classify.rules import code_math_evidence, language_request


def _every_rule() -> list[tuple[str, Rule]]:
    found: list[tuple[str, Rule]] = []
    for module in (rules, difficulty, conversation):
        for name, value in vars(module).items():
            if isinstance(value, Rule):
                found.append((f"{module.__name__}.{name}", value))
            elif isinstance(value, list):
                found += [
                    (f"{module.__name__}.{name}[{item[0]}]", item[1])
                    for item in value
                    if isinstance(item, tuple) and isinstance(item[1], Rule)
                ]
    return found


RULES = _every_rule()
CASELESS = [(name, rule) for name, rule in RULES if rule.flags & re.IGNORECASE]

TEXTS = [
    "HOW MANY apples does Janet have if she buys TWICE as many? Calculate the TOTAL.",
    "Write a PYTHON Function that returns the SUM of an Array; please DEBUG it.",
    "TRANSLATE this sentence INTO French: the cat sleeps.",
    "Wie viele Äpfel hat Anna? BERECHNE die Summe. Zwei plus DREI.",
    "ΠΌΣΑ ΜΉΛΑ ΈΧΕΙ Η ΜΑΡΊΑ; πόσες φορές;",
    "СКОЛЬКО стоит ДВА яблока? Вычислите сумму.",
    "Now in SPANISH please",
    "Prove THAT the polynomial has REAL ROOTS, and find ALL integer solutions.",
    "You MUST use at LEAST three sources; EACH answer should be short.",
    "And what about THE PREVIOUS answer? Make it shorter.",
    # folding changes the length here (ß -> ss, İ -> i̇, ﬁ -> fi): the re.I fallback runs
    "Wie viele Straßen? BERECHNE zwei.",
    "İSTANBUL'da KAÇ kişi yaşıyor? HESAPLA.",
    "ﬁnd the value of x; HOW MANY solutions?",
]


def test_the_rules_are_collected() -> None:
    assert len(CASELESS) >= 20
    assert len(RULES) > len(CASELESS)  # the case-sensitive ones are Rules too


@pytest.mark.parametrize("text", TEXTS)
def test_folded_matching_finds_what_ignorecase_finds(text: str) -> None:
    scan = ScanText.of(text)
    for name, rule in CASELESS:
        reference = re.compile(rule.source, rule.flags)
        assert rule.count(scan) == len(reference.findall(text)), name
        got = rule.search(scan)
        want = reference.search(text)
        assert (got and got.span()) == (want and want.span()), name


def test_texts_whose_folding_changes_length_keep_their_positions() -> None:
    assert ScanText.of("Straße").folded is None
    assert ScanText.of("İstanbul").folded is None
    scan = ScanText.of("ΠΌΣΑ")
    assert scan.folded == "πόσα" and scan[1:3].raw == "ΌΣ" and scan[1:3].folded == "όσ"


def test_a_caseless_rule_must_spell_its_literals_folded() -> None:
    with pytest.raises(ValueError, match="'H'"):
        Rule(r"\bHow many\b", re.I)
    with pytest.raises(ValueError, match="'ß'"):
        Rule(r"straße", re.I)
    # escapes and named groups are not literals
    match = Rule(r"(?P<strong>\S\W)\s", re.I).search(ScanText.of("X! "))
    assert match is not None and match.span("strong") == (0, 2)
    # a case-sensitive rule may spell anything
    assert Rule(r"SELECT").search(ScanText.of("select")) is None


def test_language_request_returns_the_clients_own_words() -> None:
    assert language_request("Please TRANSLATE this into French: hi") == (
        "TRANSLATE this into French"
    )


def test_upper_case_text_gets_the_same_evidence_as_lower_case() -> None:
    text = "Janet has 3 apples and buys twice as many. How many apples does she have?"
    low, high = code_math_evidence(text), code_math_evidence(text.upper())
    assert low.math == high.math > 3
    assert low.quantity_question and high.quantity_question

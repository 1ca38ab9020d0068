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
    _assert_same_as_reference(CASELESS, text)


def _assert_same_as_reference(rules: list[tuple[str, Rule]], text: str) -> None:
    """Each rule finds what its source compiled with its flags finds in ``text``."""
    scan = ScanText.of(text)
    for name, rule in rules:
        reference = re.compile(rule.source, rule.flags)
        assert rule.count(scan) == len(reference.findall(text)), (name, text)
        got, want = rule.search(scan), reference.search(text)
        assert (got and got.span()) == (want and want.span()), (name, text)
        assert [m.span() for m in rule.finditer(scan)] == [
            m.span() for m in reference.finditer(text)
        ], (name, text)


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


GATED = [(name, rule) for name, rule in RULES if rule.needs is not None]

# fragments that make the gated rules (code syntax, signatures, tracebacks, equations,
# numbers) match, miss by one character, or sit next to prose
_FRAGMENTS = [
    "def f(x):", "  async def run (", "function (", "fn main(", "func Go(",
    "int main (", "public static void main(", "Traceback (most recent call last)",
    "ValueError: bad",
    "error: expected", "line 12, in <module>", "segmentation fault", "at a.b(C.java:3)",
    "x = 1;", "{", "}", "=>", "->", "::", "+=", "==", "!=", "&&", "||", "console.log",
    "print(", "return", "<div>", "</p>", "SELECT a FROM t", "$name", "arr[i]", "x^2",
    "3x + 1", "f(x) =", "y - 4 =", "= 5x", "n = -2", "2 ^ 3", "≤", "√", "∑", "π", "απ",
    "42", "3.14", "1,000", "٣", "hello", "the", "how are you", "today", "?", "\n", " ",
    "café", "ΠΌΣΑ", "straße", "-", ":", "(", ")", "=", "a", "Z", "_", ".", ",",
]  # fmt: skip


def _fuzz_texts(count: int, seed: int = 19) -> list[str]:
    import random

    rng = random.Random(seed)
    return [
        "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 12)))
        for _ in range(count)
    ]


def test_the_gated_rules_are_the_costly_case_sensitive_ones() -> None:
    names = {name.split("[")[-1].rstrip("]") for name, _ in GATED}
    assert {"function signature", "code syntax", "equation"} <= names
    assert all(not rule.flags & re.IGNORECASE for _, rule in GATED)


@pytest.mark.parametrize("text", TEXTS)
def test_a_rule_with_needs_finds_what_its_pattern_finds(text: str) -> None:
    _assert_same_as_reference(GATED, text)


def test_needs_never_skips_a_match_in_mixed_fragments() -> None:
    texts = _fuzz_texts(1500)
    for text in texts:
        _assert_same_as_reference(GATED, text)
    for name, rule in GATED:  # the corpus reaches both sides of every gate
        assert rule.needs is not None
        gated_out = [t for t in texts if rule.needs.search(t) is None]
        matched = [t for t in texts if re.search(rule.source, t, rule.flags)]
        assert gated_out and matched, name


def test_needs_skips_a_text_without_it_and_is_refused_for_caseless_rules() -> None:
    rule = Rule(r"\bx\s*=\s*\d", needs=r"=")
    assert rule.search(ScanText.of("x is 3")) is None
    assert rule.count(ScanText.of("x = 3, x=4")) == 2
    assert list(rule.finditer(ScanText.of("no equals here"))) == []
    with pytest.raises(ValueError, match="case-sensitive"):
        Rule(r"\bhow many\b", re.I, needs="h")

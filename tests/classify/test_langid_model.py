"""py3langid's model loaded in one decompression call ranks exactly as py3langid's own
loader does (the arrays and their order are read the same way)."""

from __future__ import annotations

import pytest
from qwen_router.classify.langid_model import load_identifier

TEXTS = [
    "What is the capital of France?",
    "hello",
    "Was bedeutet Rhodophyta?",
    "¿Cómo estás hoy?",
    "Quelle est la différence entre un virus et une bactérie ?",
    "Как называется столица Австралии?",
    "ما هي عاصمة المغرب؟",
    "भारत की राजधानी क्या है?",
    "北京是中国的首都吗？",
    "東京タワーの高さはどれくらいですか？",
    "Ποια είναι η πρωτεύουσα της Ελλάδας;",
    "Merhaba, bugün nasılsın?",
    "def add(a, b):\n    return a + b",
    "",
]


@pytest.fixture(scope="module")
def identifiers() -> tuple[object, object]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    theirs = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return load_identifier(), theirs


@pytest.mark.parametrize("text", TEXTS)
def test_ranks_as_py3langids_own_loader(identifiers: tuple, text: str) -> None:
    ours, theirs = identifiers
    assert ours.rank(text) == theirs.rank(text)
    assert ours.classify(text) == theirs.classify(text)


def test_probabilities_are_normalised_as_asked() -> None:
    raw = load_identifier(norm_probs=False).classify("Quelle heure est-il ?")
    normed = load_identifier(norm_probs=True).classify("Quelle heure est-il ?")
    assert raw[0] == normed[0] == "fr"
    assert 0.0 < normed[1] <= 1.0 and raw[1] < 0.0  # a log-probability before

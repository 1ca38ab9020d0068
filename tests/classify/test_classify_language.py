"""Language identification with the real py3langid model and Unicode scripts."""

from __future__ import annotations

import pytest
from qwen_router.classify.language import detect_language, english_share, script_counts
from qwen_router.classify.text import prose_of


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Wie viele Katzen wohnen in diesem alten Haus am Fluss?", "de"),
        ("¿Dónde está la estación de tren más cercana?", "es"),
        ("Quel temps fera-t-il demain matin à Lyon ?", "fr"),
        ("Bugün hava çok güzel, parka gidelim mi?", "tr"),
        ("Hôm nay trời đẹp quá, chúng ta đi dạo nhé?", "vi"),
        ("Ninapenda kusoma vitabu kila jioni baada ya kazi.", "sw"),
        ("Какая сегодня погода в Москве?", "ru"),
        ("今天北京的天气怎么样？", "zh"),
        ("東京で一番おいしいラーメン屋はどこですか？", "ja"),
        ("오늘 날씨가 어때요?", "ko"),
        ("วันนี้อากาศเป็นอย่างไรบ้าง", "th"),
        ("Πού είναι ο σταθμός του τρένου;", "el"),
        ("ما هي عاصمة المغرب؟", "ar"),
        ("आज मौसम कैसा है?", "hi"),
        ("আজ আবহাওয়া কেমন?", "bn"),
        ("What is the tallest mountain in Africa?", "en"),
        ("who wrote the song about a yellow submarine", "en"),
    ],
)
def test_detects_language(text: str, lang: str) -> None:
    result = detect_language(prose_of(text))
    assert result.lang == lang, result
    if lang != "en":
        assert result.p_english < 0.2, result
    else:
        assert result.p_english > 0.5, result


def test_english_function_words_override_ngram_model() -> None:
    share, words = english_share("tv show theme song would you like to swing on a star")
    assert words == 12 and share >= 0.25
    assert (
        detect_language("tv show theme song would you like to swing on a star").lang
        == "en"
    )


def test_no_prose_defaults_to_english_with_low_confidence() -> None:
    result = detect_language(prose_of("def f(x):\n    return x_1 + 2"))
    assert result.lang == "en" and result.confidence <= 0.5


def test_script_counts_weigh_mixed_text() -> None:
    counts = script_counts("Hello 世界 Привет")
    assert counts == {"latin": 5, "han": 2, "cyrillic": 6}


def test_prose_strips_code_latex_and_numbers() -> None:
    prose = prose_of(
        "Compute $\\frac{1}{2}$ with `np.sum(x)` for 42 items http://x.org"
    )
    assert "frac" not in prose and "np" not in prose and "42" not in prose
    assert "Compute" in prose and "items" in prose

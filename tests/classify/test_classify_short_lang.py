"""Short non-English questions: language ID and the multilingual route.

The list below was written for this project (not taken from an evaluation set): 60
questions of two to eight words in 16 languages, the length where n-gram language ID
alone slips ("Was bedeutet Rhodophyta?" read as English). Short English questions,
including ones with foreign names, must stay English.
"""

from __future__ import annotations

import pytest
from qwen_router.classify import CascadeClassifier
from qwen_router.classify.language import detect_language
from qwen_router.classify.text import prose_of
from qwen_router.types import Message

SHORT_QUESTIONS: list[tuple[str, str]] = [
    ("de", "Was bedeutet Rhodophyta?"),
    ("de", "Wie spät ist es?"),
    ("de", "Wo liegt Hamburg?"),
    ("de", "Wer hat das Telefon erfunden?"),
    ("de", "Warum ist der Himmel blau?"),
    ("es", "hola, ¿qué tal?"),
    ("es", "¿Cómo estás hoy?"),
    ("es", "¿Dónde está la estación?"),
    ("es", "¿Quién escribió Don Quijote?"),
    ("es", "¿Cuántos años tienes?"),
    ("fr", "Quelle heure est-il ?"),
    ("fr", "Où est la gare ?"),
    ("fr", "Qui a peint la Joconde ?"),
    ("fr", "Comment ça va ?"),
    ("pt", "Qual é a capital do Brasil?"),
    ("pt", "Onde fica o banheiro?"),
    ("pt", "Quem descobriu o Brasil?"),
    ("it", "Come ti chiami?"),
    ("it", "Dove si trova il Colosseo?"),
    ("it", "Che cosa è la fotosintesi?"),
    ("ro", "Care este capitala României?"),
    ("ro", "Ce înseamnă cuvântul dor?"),
    ("ro", "Cine a scris Luceafărul?"),
    ("ro", "Când a fost fondată București?"),
    ("vi", "Logo ABC 2001 màu gì?"),
    ("vi", "Hà Nội có bao nhiêu quận?"),
    ("vi", "Ai là tác giả Truyện Kiều?"),
    ("vi", "Phở là món ăn gì?"),
    ("tr", "Türkiye'nin başkenti neresidir?"),
    ("tr", "Bu kitap kimin?"),
    ("tr", "Saat kaç?"),
    ("nl", "Wat is de hoofdstad van België?"),
    ("nl", "Hoe laat is het?"),
    ("pl", "Kim jest prezydent Polski?"),
    ("pl", "Gdzie leży Kraków?"),
    ("pl", "Co to jest fotosynteza?"),
    ("sw", "Ni nani rais wa Kenya?"),
    ("sw", "Habari ya asubuhi?"),
    ("id", "Apa ibu kota Indonesia?"),
    ("id", "Siapa presiden pertama Indonesia?"),
    ("sv", "Vad heter du?"),
    ("sv", "Var ligger Göteborg?"),
    ("el", "Ποιον κέρδισαν οι Μπρόνκος στο divisional game;"),
    ("el", "Τι ώρα είναι;"),
    ("el", "Πού είναι η Αθήνα;"),
    ("ru", "Как дела?"),
    ("ru", "Где находится Казань?"),
    ("ru", "Что такое фотосинтез?"),
    ("uk", "Де знаходиться Львів?"),
    ("zh", "北京在哪里？"),
    ("zh", "什么是光合作用？"),
    ("ja", "東京タワーの高さは？"),
    ("ja", "お名前は何ですか？"),
    ("ko", "서울의 인구는 얼마입니까?"),
    ("ar", "ما هي عاصمة مصر؟"),
    ("ar", "كم عمرك؟"),
    ("hi", "भारत की राजधानी क्या है?"),
    ("th", "กรุงเทพอยู่ที่ไหน"),
    ("he", "מה השעה?"),
    ("bn", "ঢাকা কোথায়?"),
]

ENGLISH_SHORT = [
    "What is the capital of France?",
    "Who wrote Les Misérables?",
    "Thanks!",
    "Who is Pedro Pascal?",
    "Where is São Paulo?",
    "Define photosynthesis.",
    "Is Zürich expensive?",
    "How tall is Mount Everest?",
]


def test_the_list_is_big_and_varied() -> None:
    assert len(SHORT_QUESTIONS) >= 40
    assert len({lang for lang, _ in SHORT_QUESTIONS}) >= 10


@pytest.mark.parametrize(("lang", "text"), SHORT_QUESTIONS)
def test_short_question_language(lang: str, text: str) -> None:
    result = detect_language(prose_of(text))
    assert result.lang == lang, result


def test_short_questions_route_multilingual(classifier: CascadeClassifier) -> None:
    wrong = []
    for lang, text in SHORT_QUESTIONS:
        d = classifier.classify([Message(role="user", content=text)])
        if d.route != "multilingual" or d.lang != lang:
            wrong.append((text, d.route, d.lang, d.signals))
    assert not wrong, wrong


@pytest.mark.parametrize("text", ENGLISH_SHORT)
def test_short_english_stays_english(classifier: CascadeClassifier, text: str) -> None:
    d = classifier.classify([Message(role="user", content=text)])
    assert d.route == "general" and "multilingual" not in d.labels, d


def test_english_words_do_not_outweigh_a_script(classifier: CascadeClassifier) -> None:
    # Greek question with an English phrase inside: script and language dominate.
    d = classifier.classify(
        [
            Message(
                role="user", content="Ποιον κέρδισαν οι Μπρόνκος στο divisional game;"
            )
        ]
    )
    assert d.route == "multilingual" and d.lang == "el" and d.confidence >= 0.8, d
    # An English sentence quoting a foreign word stays English.
    e = detect_language("Please explain what the Russian word спасибо means here")
    assert e.lang == "en", e

"""The full cascade: real py3langid, the real MiniLM encoder, real profiles."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from qwen_router.classify import (
    CascadeClassifier,
    CascadeConfig,
    RuleClassifier,
    default_classifier,
)
from qwen_router.errors import ConfigError, InputError
from qwen_router.profiles import RouteSpec, load_profile
from qwen_router.types import ImagePart, Message, TextPart, normalize_messages


def _decide(clf: CascadeClassifier, text: str):  # type: ignore[no-untyped-def]
    return clf.classify(normalize_messages(text))


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("Write a Go function that checks whether a year is a leap year.", "code"),
        ("Why does my Flask app return a 404 for every static file?", "code"),
        (r"Evaluate $\int_0^1 x^3\,dx$.", "math"),
        ("Tickets cost 7 dollars each. A class of 28 pupils and 3 teachers goes "
         "to the museum. What is the total cost?", "math"),
        ("What are good houseplants for a room with little sunlight?", "general"),
        ("Write a short speech for my grandmother's ninetieth birthday.", "general"),
        ("Translate 'where is the library' into German.", "multilingual"),
        ("¿Cuál es el río más largo de Europa?", "multilingual"),
    ],
)  # fmt: skip
def test_routes(classifier: CascadeClassifier, text: str, route: str) -> None:
    decision = _decide(classifier, text)
    assert decision.route == route, decision
    assert decision.signals and 0 <= decision.confidence <= 1
    assert decision.difficulty is not None and 0 <= decision.difficulty <= 1


def test_non_english_math_is_multi_label(classifier: CascadeClassifier) -> None:
    text = (
        "В магазине было 45 килограммов яблок. Утром продали 18 килограммов, "
        "а вечером ещё 12. Сколько килограммов яблок осталось?"
    )
    decision = _decide(classifier, text)
    assert decision.route == "multilingual"
    assert set(decision.labels) == {"multilingual", "math"}
    assert decision.lang == "ru"
    assert any("word problem" in s for s in decision.signals)


def test_stage_is_reported(classifier: CascadeClassifier) -> None:
    fast = _decide(
        classifier, "```js\nfunction f() { return 1; }\n```\nWhy is this slow?"
    )
    assert fast.stage == "rules"
    assert (
        _decide(classifier, "Could you help me plan a relaxing Sunday?").stage
        == "rules"
    )
    slow = _decide(classifier, "What is the best way to learn programming as an adult?")
    assert slow.stage == "embedding"
    assert any(s.startswith("embedding: nearest") for s in slow.signals)


def test_difficulty_ranks_hard_above_easy(classifier: CascadeClassifier) -> None:
    easy = _decide(classifier, "What is 2 + 3?")
    hard = _decide(
        classifier,
        r"Prove that for every positive integer $n$, $\sum_{k=1}^{n} k^3 = "
        r"\left(\frac{n(n+1)}{2}\right)^2$, and find all $n$ for which the sum is a "
        r"perfect square modulo 7.",
    )
    assert hard.difficulty is not None and easy.difficulty is not None
    assert hard.difficulty > easy.difficulty + 0.2


def test_vision_from_image_parts(classifier: CascadeClassifier) -> None:
    only_image = [Message(role="user", content=[ImagePart(image=b"\x89PNG\r\n")])]
    decision = classifier.classify(only_image)
    assert decision.route == "vision" and decision.labels == ["vision"]
    with_text = [
        Message(role="user", content=[
            TextPart(text="Solve the equation 3x + 5 = 20 written on this page."),
            ImagePart(image=b"\x89PNG\r\n"),
        ]),
    ]  # fmt: skip
    decision = classifier.classify(with_text)
    assert decision.route == "vision" and "math" in decision.labels


def test_falls_back_to_general_below_min_confidence() -> None:
    flat = {"rules": (0.5, 0.0), "embedding": (0.5, 0.0)}
    strict = CascadeClassifier(CascadeConfig(min_confidence=0.99, calibration=flat))
    decision = _decide(strict, "Write a Python function that sorts a list of names.")
    assert decision.route == "general" and "code" in decision.labels
    assert any(s.startswith("fell back to general") and "min_confidence" in s
               for s in decision.signals)  # fmt: skip


def test_user_defined_route_from_profile() -> None:
    base = load_profile("local")
    legal = RouteSpec(
        model="gguf:smollm2-135m-instruct",
        description="Questions about contracts, leases, lawsuits and legal rights.",
        utterances=[
            "Can my landlord keep my deposit for normal wear and tear?",
            "Is a verbal agreement legally binding?",
            "What should I check before signing an employment contract?",
            "How do I contest a parking ticket in court?",
            "Can I be sued for a negative online review?",
        ],
    )
    profile = base.model_copy(update={"routes": {**base.routes, "legal": legal}})
    clf = default_classifier(profile)
    decision = _decide(
        clf, "My employer wants me to sign a non-compete clause. Is it enforceable?"
    )
    assert decision.route == "legal", decision
    assert "legal" in decision.scores and "legal" in decision.labels
    assert _decide(clf, "Write a Python function that sorts a list.").route == "code"


def test_profile_thresholds_are_read_and_checked() -> None:
    base = load_profile("local")
    section = base.classifier.model_copy(update={"min_confidence": 0.7})
    clf = default_classifier(base.model_copy(update={"classifier": section}))
    assert isinstance(clf, CascadeClassifier) and clf.config.min_confidence == 0.7
    with pytest.raises(ConfigError, match="rules_acept"):
        CascadeConfig.from_section({"rules_acept": 0.5})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\x00\x01\x02" * 300,
        bytes(range(256)).decode("latin-1") * 40,
        "🎉🎉🎉",
        "Explain 量子力学 and Квантовая механика in simple words",
        "word " * 250_000,
        "x\ud800y",
    ],
    ids=[
        "empty",
        "whitespace",
        "control",
        "binary",
        "emoji",
        "mixed",
        "1MB",
        "surrogate",
    ],
)
def test_bad_input_gets_a_decision(classifier: CascadeClassifier, text: str) -> None:
    decision = classifier.classify([Message(role="user", content=text)])
    assert decision.route in {"general", "multilingual", "code", "math"}
    assert decision.signals


def test_empty_message_list_is_an_input_error(classifier: CascadeClassifier) -> None:
    with pytest.raises(InputError):
        classifier.classify([])


def test_rule_classifier_needs_no_model() -> None:
    decision = _decide(RuleClassifier(), "Tell me about the history of tea.")
    assert decision.stage == "rules" and decision.route == "general"


def test_import_is_light() -> None:
    code = (
        "import sys, qwen_router, qwen_router.classify\n"
        "qwen_router.classify.default_classifier()\n"
        "heavy = {'torch', 'transformers', 'py3langid'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_async_classify_matches_sync() -> None:
    import asyncio

    from qwen_router.classify import default_classifier
    from qwen_router.types import normalize_messages

    classifier = default_classifier(None)
    for text in (
        "Write a Python function that merges two sorted lists",
        "Tell me something interesting about the ocean",  # reaches the embedding stage
        "Сколько будет 15% от 240?",
        "",
    ):
        messages = normalize_messages([{"role": "user", "content": text or " "}])
        sync = classifier.classify(messages)
        async_ = asyncio.run(classifier.aclassify(messages))
        assert async_.model_dump() == sync.model_dump()

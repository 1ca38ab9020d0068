"""The route benchmark on a small labeled file written here (not the dev set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qwen_router.bench.route import main, run

_ROWS = [
    ("c1", "code", "en", "Write a JavaScript function that debounces a function."),
    ("m1", "math", "en", "A car uses 6 liters per 100 km. How many liters for 350 km?"),
    ("g1", "general", "en", "What is a good name for a golden retriever puppy?"),
    ("x1", "multilingual", "es",
     "Un tren sale a las 8 y recorre 120 km a 60 km por hora. ¿A qué hora llega?"),
    ("x2", "multilingual", "de", "Welche Farbe hat der Himmel am Abend?"),
]  # fmt: skip
_ITEMS = [
    {"id": i, "label": lab, "lang": lang, "text": text} for i, lab, lang, text in _ROWS
]
_ITEMS[3]["also"] = "math"


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "route.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in _ITEMS) + "\n")
    return path


def test_run_reports_metrics(data: Path) -> None:
    report = run(data)
    assert report.items == 5 and report.macro_f1 == 1.0
    assert {m.label for m in report.per_label} == {
        "code",
        "math",
        "general",
        "multilingual",
    }
    assert report.also_detected == {"math": 1.0}
    assert report.lang_accuracy_non_english == 1.0
    assert report.confusion["math"]["math"] == 1
    stages = {s.stage: s for s in report.latency}
    assert stages["rules"].reached == 5 and stages["rules"].p50_ms > 0


def test_main_prints_json_and_plain(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(data), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["items"] == 5 and "latency" in parsed
    assert main(["--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion" in out and "p50 ms" in out


def test_main_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(tmp_path / "nope.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err


def test_default_data_is_the_packaged_sample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "route_sample.jsonl (40 items)" in out


def test_cross_validation_report(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qwen_router.bench.route_eval import cross_validate

    report = cross_validate(data, folds=2)
    assert report.items == 5 and len(report.chosen) == 2
    assert 0.0 <= report.ece <= 1.0 and set(report.recall) == {
        "code", "math", "general", "multilingual"
    }  # fmt: skip
    assert main(["--data", str(data), "--cv", "2"]) == 0
    assert "2-fold cross-validation" in capsys.readouterr().out


def test_multiturn_and_difficulty_reports(tmp_path: Path) -> None:
    from qwen_router.bench.route_eval import difficulty, multiturn, spearman

    conv = tmp_path / "mt.jsonl"
    conv.write_text(json.dumps({"id": "c", "route": "code", "turns": [
        "Write a Python function that checks whether a number is prime.",
        "Now make it faster",
    ]}) + "\n")  # fmt: skip
    m = multiturn(conv)
    assert m.second_turn_accuracy_content == 1.0 and m.second_turn_accuracy_alone == 0.0
    root = Path(__file__).resolve().parents[2]
    d = difficulty(root / "router" / "bench" / "data" / "math_sample.jsonl")
    assert d.math500_items > 0 and d.gsm8k_items > 0
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0

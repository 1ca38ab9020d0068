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

"""`qwen-router bench math` on a small hand-written JSONL file (never the dev data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sympy")
pytest.importorskip("math_verify")

from qwen_router.bench.math import MathBenchReport, main, run  # noqa: E402

pytestmark = pytest.mark.timeout(180)

ROWS = [
    {
        "question": "Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3",
        "solution": "By the power rule, $f'(x) = \\boxed{3x^2+4x-5}$.",
        "reference": "3x^2+4x-5",
        "subject": "Calculus",
        "source": "handmade",
    },
    {
        "question": "Solve for $x$: $2x + 3 = 11$.",
        "solution": "So $x = \\boxed{4}$.",
        "reference": "4",
        "subject": "Algebra",
        "source": "handmade",
    },
    {
        "question": "Tom has 3 bags of 4 apples. How many apples does he have?",
        "solution": "3 * 4 = 12 apples.\n#### 12",
        "reference": "12",
        "source": "words",
    },
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "math.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


def test_run_reports_rates(data: Path) -> None:
    report = run(data)
    assert isinstance(report, MathBenchReport)
    assert report.n == 3
    assert report.own_verified_rate == 1.0
    assert report.cross_false_verified_rate == 0.0
    assert report.noref_refuted_rate == 0.0
    assert report.by_group["Calculus"].verified == 1
    assert report.by_group["Algebra"].verified == 1
    assert report.by_group["words"].unverifiable == 1
    assert report.p99_ms >= report.p50_ms >= 0


def test_main_prints_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(data), "--json", "--limit", "2"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n"] == 2
    assert "noref_verified_coverage" in payload


def test_main_text_and_missing_file(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "own reference verified" in out and "p50" in out
    assert main(["--data", str(data.parent / "nope.jsonl")]) == 2

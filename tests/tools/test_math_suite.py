"""Math-Verify's own test cases (tests/tools/data/, Apache-2.0) through ``verify``:
no false "verified", agreement at least 96% and above plain math-verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sympy")
pytest.importorskip("math_verify")

from qwen_router.bench.math import main, run_suite  # noqa: E402

SUITE = Path(__file__).parent / "data" / "mathverify_cases.jsonl"


def test_fixture_is_the_extracted_suite() -> None:
    rows = [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 268
    assert {"id", "gold", "pred", "expected"} <= set(rows[0])


def test_suite_has_no_false_verified_and_beats_plain_math_verify() -> None:
    report = run_suite(SUITE)
    assert report.false_verified == []
    assert report.agreement >= 0.96
    assert report.agreement > report.plain_agreement
    assert (
        len(report.skipped) == 2
    )  # pairs labelled both ways under Math-Verify options


def test_bench_cli_suite_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    small = tmp_path / "s.jsonl"
    small.write_text(
        "\n".join(SUITE.read_text(encoding="utf-8").splitlines()[:5]) + "\n",
        encoding="utf-8",
    )
    assert main(["--suite", str(small), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 5 and "plain_agreement" in data
    assert main(["--suite", str(tmp_path / "missing.jsonl")]) == 2

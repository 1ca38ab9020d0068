"""`qwen-router bench math` runs from a clone with no data argument, on the shipped sample."""

from __future__ import annotations

import json

import pytest
from qwen_router.bench.math import main


def test_bench_math_defaults_to_the_shipped_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 24
    # the sample's own references verify, another problem's never do, nothing is refuted
    assert report["own_verified_rate"] == 1.0
    assert report["cross_false_verified_rate"] == 0.0
    assert report["noref_refuted_rate"] == 0.0
    assert report["noref_verified_coverage"] > 0

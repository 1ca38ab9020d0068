"""A CLI command builds what it runs with the garbage collector paused, then freezes it;
``ask`` classifies while the Router is built."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qwen_router.bench.server import overhead_profile
from qwen_router.startup import collection_paused

# Runs the console script's main() in a fresh interpreter and reports, on stderr's last
# line, how many collections of each generation ran and how many objects are frozen.
PROBE = """
import gc, json, sys
runs = {0: 0, 1: 0, 2: 0}
def count(phase, info):
    if phase == "start":
        runs[info["generation"]] += 1
gc.callbacks.append(count)
from qwen_router.cli import main
code = main(sys.argv[1:])
frozen, enabled = gc.get_freeze_count(), gc.isenabled()
report = {"code": code, "runs": runs, "frozen": frozen, "enabled": enabled}
print(json.dumps(report), file=sys.stderr)
"""


def probe(*args: str) -> tuple[dict, str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    report = json.loads(out.stderr.strip().splitlines()[-1])
    return report, out.stdout


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give the test process's objects back to the collector afterwards."""
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()


def test_the_collector_is_off_inside_and_on_again_with_the_block_frozen(
    unfrozen: None,
) -> None:
    before = gc.get_freeze_count()
    with collection_paused():
        assert not gc.isenabled()
        built = [{"n": n} for n in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(built)


def test_a_failing_block_still_switches_the_collector_back_on(unfrozen: None) -> None:
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_host_that_turned_the_collector_off_keeps_it_off(unfrozen: None) -> None:
    gc.disable()
    before = gc.get_freeze_count()
    with collection_paused():
        pass
    assert not gc.isenabled()
    assert gc.get_freeze_count() == before


def test_ask_builds_its_router_without_a_full_collection_and_freezes_it(
    tmp_path: Path,
) -> None:
    profile = overhead_profile(tmp_path)
    report, stdout = probe("ask", "--profile", str(profile), "--json", "hello")
    assert report["code"] == 0
    assert json.loads(stdout)["answer"] == "ok"
    # the Router's imports and build (no LangGraph since ask steps the graph
    # directly): ~90,000 objects; before the pause, two full collections ran while
    # they were built and nothing was frozen
    assert report["frozen"] > 50_000
    assert report["runs"]["2"] == 0
    assert report["enabled"] is True


def test_classify_freezes_the_classifier_it_built(tmp_path: Path) -> None:
    report, stdout = probe("classify", "Write a Python function that merges two lists")
    assert report["code"] == 0
    assert json.loads(stdout)["route"] == "code"
    assert report["frozen"] > 10_000
    assert report["enabled"] is True


def test_ask_runs_the_graph_on_the_decision_it_classified_early(tmp_path: Path) -> None:
    from qwen_router.classify import default_classifier
    from qwen_router.profiles import load_profile
    from qwen_router.types import Message

    profile = overhead_profile(tmp_path)
    text = "Wie viele Primzahlen gibt es zwischen 10 und 30?"
    report, stdout = probe("ask", "--profile", str(profile), "--json", text)
    assert report["code"] == 0
    result = json.loads(stdout)
    expected = default_classifier(load_profile(str(profile))).classify(
        [Message(role="user", content=text)]
    )
    assert result["decision"] == expected.model_dump()
    classify_step = next(s for s in result["trace"] if s["node"] == "classify")
    assert classify_step["detail"]["planned"] is True

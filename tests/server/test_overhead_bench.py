"""``qwen-router bench overhead``: its pairs are like for like and its report says
what it measured. Real servers on 127.0.0.1, real llama.cpp; no timing assertions."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from qwen_router.bench.baselines import bare_graph
from qwen_router.bench.overhead import bench_serve, warm_up
from qwen_router.bench.server import PROMPT, median, overhead_profile
from qwen_router.bench.upstream import MEASURES, bench_stream, paired_added
from qwen_router.core import Router
from support.thread_hops import thread_hops


@pytest.mark.slow
def test_stream_pair_generates_the_same_tokens_on_both_sides(tmp_path: Path) -> None:
    """Before, ``serve`` rendered the route's system prompt and the direct call did
    not: the two sides generated different answers (7 vs 8 tokens, one ending on the
    model's stop token, the other on max_tokens), so the stop token's decode step
    showed up as "per-token" overhead."""
    report = bench_stream(tmp_path, rounds=1, requests=2, max_tokens=8)
    each = report["tokens_each"]
    # the floors (a bare proxy, and that proxy through a no-op graph) relay the same
    # tokens: each side streams the same answer
    assert set(each) == {"direct", "proxy", "graph_proxy", "serve"}
    assert len(set(each.values())) == 1 and each["serve"] >= 2
    for side in each:
        assert report[f"{side}_first_ms"] > 0
        assert report[f"{side}_per_token_ms"] > 0
        assert report[f"{side}_end_ms"] >= 0
    if sys.platform == "linux":  # CPU from /proc: serve's two streams take clock ticks
        assert report["serve_cpu_ms"] > 0


def test_serve_section_reports_the_langgraph_floor(tmp_path: Path) -> None:
    report = bench_serve(tmp_path, seconds=1, rounds=1, clients=2, workers=(1,))
    for name in ("bare", "bare_graph", "serve_1w"):
        row = report[name]
        assert row["rps"] > 0
        assert row["cpu_ms"] is None or row["cpu_ms"] > 0  # None off Linux
    assert report["bare_graph"]["rps_vs_bare"] > 0
    floor, serve = report["bare_graph"]["cpu_ms"], report["serve_1w"]["cpu_ms"]
    assert report["cpu_vs_graph_floor"] == pytest.approx(floor / serve)


def test_graph_section_prints_its_ratio_as_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable, "-m", "qwen_router.cli", "bench", "overhead",
            "--only", "graph", "--rounds", "1", "--calls", "20", "--json",
        ],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    graph = json.loads(out.stdout)["graph"]
    assert graph["nodes"] == 5
    assert graph["ratio"] == pytest.approx(graph["router_p50_ms"] / graph["bare_p50_ms"])
    assert graph["pregel_ratio"] == pytest.approx(
        graph["pregel_p50_ms"] / graph["bare_p50_ms"]
    )
    # through Pregel the router does more than no-op nodes (counts are of whole runs);
    # stepped, it skips Pregel's own work
    assert graph["pregel_calls"] > graph["bare_calls"] > 100
    assert graph["router_calls"] < graph["pregel_calls"]
    assert graph["calls_ratio"] == pytest.approx(
        graph["router_calls"] / graph["bare_calls"]
    )


def test_the_bare_graph_floor_runs_on_the_event_loop(tmp_path: Path) -> None:
    """Before, the floor's branch was a sync lambda, which LangGraph runs in a worker
    thread: one thread hop per run that the router's own graph does not make, so the
    floor was slower than the no-op graph it stands for."""
    with Router(str(overhead_profile(tmp_path))) as router:
        bare = bare_graph(router.graph)
        assert thread_hops(lambda: router.ainvoke(PROMPT)) == 0
        assert thread_hops(lambda: bare.ainvoke({"request": PROMPT})) == 0
        # it still takes the router's common path: plan, generate, respond

        async def steps() -> list[str]:
            updates = bare.astream({"request": PROMPT}, stream_mode="updates")
            return [name async for update in updates for name in update]

        assert asyncio.run(steps()) == ["plan", "generate", "respond"]


def test_the_warm_up_caches_bytecode_where_the_environment_forbids_writing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the cold-ask warm-up run wrote no bytecode under PYTHONDONTWRITEBYTECODE
    (set on this machine), so every measured ``ask`` compiled the editable package
    again: about 0.2 s that an installed copy does not pay and the bare scripts,
    importing only pip-compiled packages, did not pay either."""
    module = tmp_path / "bytecode_probe.py"
    module.write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    warm_up([sys.executable, "-c", "import bytecode_probe"])
    assert Path(importlib.util.cache_from_source(str(module))).is_file()


def test_added_latency_is_paired_so_drift_between_rounds_cancels() -> None:
    """A slow spell (about 40 ms) hit three of the five direct streams but only two of
    serve's. Every serve stream but one was 2 ms behind the direct stream just before
    it. The difference of the two sides' medians says serve took 37 ms off the first
    token; the paired median says it added 2 ms."""
    def streams(firsts: list[float]) -> list[tuple[float, float, float, int]]:
        return [(first, first + 0.07, first + 0.08, 8) for first in firsts]

    direct = streams([0.010, 0.050, 0.051, 0.052, 0.011])
    serve = streams([0.012, 0.013, 0.053, 0.054, 0.013])
    first = MEASURES["first"]
    by_medians = median([first(r) for r in serve]) - median([first(r) for r in direct])
    assert by_medians == pytest.approx(-0.037)
    assert paired_added(serve, direct, first) == pytest.approx(0.002)
    # a stream the measure cannot use (one token: no per-token gap) is left out
    one_token = [(0.012, 0.012, 0.2, 1), *serve[1:]]
    assert paired_added(one_token, direct, MEASURES["per_token"]) == pytest.approx(0.0)
    assert MEASURES["per_token"](one_token[0]) is None


def test_parts_section_splits_one_serve_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qwen_router.bench.overhead import main
    from qwen_router.bench.parts import PARTS, bench_parts

    report = bench_parts(tmp_path, rounds=1, calls=50)
    us = report["us"]
    assert set(us) == set(PARTS) and all(us[name] > 0 for name in PARTS)
    # each part is a piece of the whole request, measured in the same chunks
    assert us["http"] < us["serve"] and us["invoke"] < us["serve"]
    assert us["classify"] < us["plan"] < us["serve"]
    assert report["share"]["plan"] == pytest.approx(us["plan"] / us["serve"])
    assert report["serve_vs_bare"] == pytest.approx(us["serve"] / us["bare"])
    assert report["parts_alone"] == pytest.approx(
        (us["http"] + us["plan"] + us["invoke"]) / us["serve"]
    )
    assert main(["--only", "parts", "--rounds", "1", "--calls", "50"]) == 0
    printed = capsys.readouterr().out
    assert "[parts] one serve request in-process" in printed
    assert "RouterService.plan" in printed and "HTTP layer" in printed

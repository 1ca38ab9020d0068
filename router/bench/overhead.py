"""What the router costs next to the bare parts it is built from, stated as ratios.

One run measures, side by side, interleaving the two halves of every pair in each
round (so that a change in machine load hits both) and reporting medians over rounds:

- **serve**: ``qwen-router serve`` (1 worker, then ``--workers 2``) against a bare
  FastAPI + uvicorn app that answers the same ``chat.completion`` JSON, both under
  the same closed-loop HTTP load: requests/s and server CPU ms per request. Every
  route is ``FakeBackend`` (an instant, overhead-measuring fake, not a model).
- **graph**: ``Router.ainvoke`` (FakeBackend; the graph's nodes stepped directly)
  and the same run through the compiled LangGraph graph (``router.graph.ainvoke``,
  the path of a checkpointer, callbacks or a parent run) against a bare LangGraph
  graph with the same nodes and edges whose nodes do nothing: p50 of one client.
- **cold ask**: ``qwen-router ask --max-tokens 1`` (the bundled SmolLM2 on llama.cpp,
  ``local`` profile) against a bare llama-cpp-python script that loads the same GGUF
  and emits one token: wall time from ``exec`` to the first byte on stdout
  (``--ask-prompt``: a prompt other than "What is the capital of France?", e.g. one
  whose words do not tell its language, so that the classifier loads py3langid).
- **stream**: ``serve`` in front of a real ``python -m llama_cpp.server`` (bundled
  GGUF) against that upstream called directly: ms added to the first token and per
  token of an SSE stream; with, as floors, what a bare FastAPI proxy adds and what
  that proxy adds when it streams through a no-op LangGraph graph.
- **model**: ``Router.invoke`` on the bundled model: overhead (total minus
  generation) as a share of the request, per route (math pays its verifier).
- **parts**: where one serve request's time goes, in one process without HTTP
  (:mod:`.parts`): the request against the bare app's, and its HTTP layer, plan,
  classification and graph run, each as a share of it.

    qwen-router bench overhead [--rounds 3] [--seconds 2] [--concurrency 16]
                               [--only serve graph ask stream model parts]
                               [--ask-prompt TEXT] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qwen_router.bench.baselines import (
    BARE_APP,
    BARE_GRAPH_APP,
    BARE_GRAPH_LLAMA,
    BARE_LLAMA,
    bare_graph,
)
from qwen_router.bench.parts import bench_parts
from qwen_router.bench.server import (
    PROMPT,
    HttpxLoad,
    WrkLoad,
    cpu_seconds,
    free_port,
    median,
    overhead_profile,
    start_server,
    stop_process,
    wait_ready,
)
from qwen_router.bench.upstream import bench_stream

__all__ = ["SECTIONS", "main", "run", "warm_up"]

SECTIONS = ("serve", "graph", "ask", "stream", "model", "parts")
ASK_PROMPT = "What is the capital of France?"
MODEL_PROMPTS = {
    "general": "What is the capital of France?",
    "code": "Write a Python function that reverses a string.",
    "math": "What is 12 * 7?",
}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# --- serve vs bare FastAPI -------------------------------------------------------
def _loader(url: str, tmp: Path) -> HttpxLoad | WrkLoad:
    """``wrk`` when installed (C, next to no client CPU), else httpx in this process."""
    return WrkLoad(url, False, tmp) if shutil.which("wrk") else HttpxLoad(url, False)


def _load_round(
    load: HttpxLoad | WrkLoad, pid: int, seconds: float, clients: int
) -> dict[str, Any]:
    before = cpu_seconds(pid)
    n, wall, p50, _ = load(seconds, clients)
    after = cpu_seconds(pid)
    cpu = after - before if before is not None and after is not None else None
    return {
        "rps": n / wall,
        "p50_ms": p50,
        "cpu_ms": cpu * 1000 / n if cpu and n else None,
    }


def bench_serve(
    tmp: Path, *, seconds: float, rounds: int, clients: int, workers: Sequence[int]
) -> dict[str, Any]:
    profile = overhead_profile(tmp)
    bare_script = tmp / "bare_app.py"
    bare_script.write_text(BARE_APP, encoding="utf-8")
    graph_script = tmp / "bare_graph_app.py"
    graph_script.write_text(BARE_GRAPH_APP, encoding="utf-8")
    procs: dict[str, tuple[subprocess.Popen[Any], HttpxLoad | WrkLoad]] = {}
    try:
        for name, script, extra in (
            ("bare", bare_script, []),
            ("bare_graph", graph_script, [str(profile)]),
        ):
            port = free_port()
            child = subprocess.Popen([sys.executable, str(script), str(port), *extra])
            procs[name] = (child, _loader(f"http://127.0.0.1:{port}", tmp))
            wait_ready(f"http://127.0.0.1:{port}", child, 1)
        for w in workers:
            port = free_port()
            child = start_server(profile, port, w)
            procs[f"serve_{w}w"] = (child, _loader(f"http://127.0.0.1:{port}", tmp))
            wait_ready(f"http://127.0.0.1:{port}", child, w)
        for _proc, load in procs.values():  # warm-up: connections, lazy imports
            load(1, clients)
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in procs}
        for _ in range(rounds):
            for name, (proc, load) in procs.items():
                samples[name].append(_load_round(load, proc.pid, seconds, clients))
    finally:
        for proc, _ in procs.values():
            stop_process(proc)
    client = next(iter(procs.values()))[1].name
    out: dict[str, Any] = {"clients": clients, "seconds": seconds, "client": client}
    for name, rows in samples.items():
        out[name] = {
            k: median([r[k] for r in rows]) for k in ("rps", "p50_ms", "cpu_ms")
        }
    for name in ["bare_graph", *(f"serve_{w}w" for w in workers)]:
        row = out[name]
        row["rps_vs_bare"] = _ratio(row["rps"], out["bare"]["rps"])
        row["cpu_vs_bare"] = _ratio(out["bare"]["cpu_ms"], row["cpu_ms"])
    # what the router adds on top of the LangGraph floor (1 worker, CPU per request)
    floor, one = out["bare_graph"]["cpu_ms"], out[f"serve_{workers[0]}w"]["cpu_ms"]
    out["cpu_vs_graph_floor"] = _ratio(floor, one)
    return out


# --- Router.ainvoke vs a bare LangGraph graph ------------------------------------
async def _p50_ms(call: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


async def _calls_per_run(call: Callable[[], Any], runs: int) -> float:
    """Python function calls per run (``cProfile``'s count): a measure of work that,
    unlike time, does not move with the machine's load."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for _ in range(runs):
            await call()
    finally:
        profiler.disable()
    return float(pstats.Stats(profiler).total_calls) / runs


def bench_graph(tmp: Path, *, calls: int, rounds: int) -> dict[str, Any]:
    from qwen_router.core import Router
    from qwen_router.types import RouteRequest, normalize_messages

    with Router(str(overhead_profile(tmp))) as router:
        bare = bare_graph(router.graph)

        state = {"request": RouteRequest(messages=normalize_messages(PROMPT))}

        def ours() -> Any:
            return router.ainvoke(PROMPT)

        def pregel() -> Any:
            return router.graph.ainvoke(state, output_keys=["result"])

        def theirs() -> Any:
            return bare.ainvoke({"request": PROMPT})

        async def measure() -> tuple[dict[str, list[float]], dict[str, float]]:
            calls_of = {"router": ours, "pregel": pregel, "bare": theirs}
            times: dict[str, list[float]] = {name: [] for name in calls_of}
            for call in calls_of.values():
                await _p50_ms(call, 50)  # warm-up
            for _ in range(rounds):
                for name, call in calls_of.items():
                    times[name].append(await _p50_ms(call, calls))
            work = {name: await _calls_per_run(call, 50) for name, call in calls_of.items()}
            return times, work

        times, work = asyncio.run(measure())
        nodes = len(
            [n for n in router.graph.get_graph().nodes if not n.startswith("__")]
        )
    r, g, b = median(times["router"]), median(times["pregel"]), median(times["bare"])
    return {
        "nodes": nodes,
        "calls": calls,
        "router_p50_ms": r,
        "pregel_p50_ms": g,
        "bare_p50_ms": b,
        "ratio": _ratio(r, b),
        "pregel_ratio": _ratio(g, b),
        "router_calls": work["router"],
        "pregel_calls": work["pregel"],
        "bare_calls": work["bare"],
        "calls_ratio": _ratio(work["router"], work["bare"]),
        "pregel_calls_ratio": _ratio(work["pregel"], work["bare"]),
    }


# --- cold ask vs a bare llama.cpp script -----------------------------------------
def _first_byte(
    command: list[str], *, write_bytecode: bool = False
) -> tuple[float, float]:
    """Seconds from exec to the first stdout byte, and to exit.

    ``write_bytecode``: let the process cache the bytecode of what it imports, even
    when ``PYTHONDONTWRITEBYTECODE`` is set here (see :func:`warm_up`).
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {proc.returncode}")
    return first, time.perf_counter() - start


def warm_up(command: list[str]) -> None:
    """Run ``command`` once, so that its files are in the page cache and the bytecode
    of every module it imports is cached, as installing a wheel leaves it.

    An editable install (this repository's own) is compiled on first import; with
    ``PYTHONDONTWRITEBYTECODE`` set it would be compiled again on every start, about
    0.3 s of a cold ``ask`` on the 2-core VM the README's numbers come from, which no
    installed copy pays (the third-party packages both sides import were compiled by
    pip).
    """
    _first_byte(command, write_bytecode=True)


def bench_ask(tmp: Path, *, rounds: int, prompt: str = ASK_PROMPT) -> dict[str, Any]:
    from qwen_router.backends.bundled import ensure_gguf
    from qwen_router.backends.llamacpp.repack import default_repack

    gguf = ensure_gguf("smollm2-135m-instruct")
    script = tmp / "bare_llama.py"
    script.write_text(BARE_LLAMA, encoding="utf-8")
    graph_script = tmp / "bare_graph_llama.py"
    graph_script.write_text(BARE_GRAPH_LLAMA, encoding="utf-8")
    ask = [
        sys.executable,
        "-m",
        "qwen_router.cli",
        "ask",
        "--profile",
        "local",
        "--max-tokens",
        "1",
        prompt,
    ]
    repack = "1" if default_repack() else "0"  # as the backend loads
    bare = [sys.executable, str(script), str(gguf), prompt, repack]
    floor = [sys.executable, str(graph_script), str(gguf), prompt, repack]
    for command in (ask, bare, floor):
        warm_up(command)
    ours, theirs, floors = [], [], []
    for _ in range(rounds):
        ours.append(_first_byte(ask))
        theirs.append(_first_byte(bare))
        floors.append(_first_byte(floor))
    r, b = median([o[0] for o in ours]), median([t[0] for t in theirs])
    f = median([x[0] for x in floors])
    return {
        "prompt": prompt,
        "ask_first_byte_s": r,
        "bare_first_byte_s": b,
        "ratio": _ratio(r, b),
        "graph_floor_first_byte_s": f,  # the bare script after importing LangGraph
        "floor_ratio": _ratio(f, b),
        "ask_exit_s": median([o[1] for o in ours]),
        "bare_exit_s": median([t[1] for t in theirs]),
    }


# --- overhead next to the bundled model ------------------------------------------
def bench_model(*, rounds: int, max_tokens: int) -> dict[str, Any]:
    from qwen_router.core import Router
    from qwen_router.types import GenerationParams

    params = GenerationParams(max_tokens=max_tokens, temperature=0.0)
    out: dict[str, Any] = {"max_tokens": max_tokens}
    with Router("local") as router:
        router.warm_up()
        router.invoke("warm up", params=params)
        rows: dict[str, list[tuple[float, float]]] = {r: [] for r in MODEL_PROMPTS}
        routed: dict[str, str] = {}
        for _ in range(rounds):
            for (
                kind,
                prompt,
            ) in MODEL_PROMPTS.items():  # classified, as a user's would be
                result = router.invoke(prompt, params=params)
                t, routed[kind] = result.timings, result.decision.route
                rows[kind].append((t.total_ms, t.total_ms - t.generate_ms - t.load_ms))
    for kind, samples in rows.items():
        total = median([s[0] for s in samples]) or 0.0
        over = median([s[1] for s in samples]) or 0.0
        out[kind] = {
            "route": routed[kind],
            "total_ms": total,
            "overhead_ms": over,
            "share": over / total if total else None,
        }
    return out


# --- the run ---------------------------------------------------------------------
def run(
    sections: Sequence[str] = SECTIONS,
    *,
    rounds: int = 3,
    seconds: float = 2.0,
    clients: int = 16,
    workers: Sequence[int] = (1, 2),
    calls: int = 300,
    stream_requests: int = 6,
    max_tokens: int = 16,
    ask_prompt: str = ASK_PROMPT,
) -> dict[str, Any]:
    """Measure the chosen sections; the report as a dict.

    Raises:
        RuntimeError: a server did not start or answered with an error.
    """
    report: dict[str, Any] = {
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "serve" in sections:
            report["serve"] = bench_serve(
                tmp, seconds=seconds, rounds=rounds, clients=clients, workers=workers
            )
        if "graph" in sections:
            report["graph"] = bench_graph(tmp, calls=calls, rounds=rounds)
        if "ask" in sections:
            report["ask"] = bench_ask(tmp, rounds=rounds, prompt=ask_prompt)
        if "stream" in sections:
            report["stream"] = bench_stream(
                tmp, rounds=rounds, requests=stream_requests, max_tokens=max_tokens
            )
        if "model" in sections:
            report["model"] = bench_model(rounds=rounds, max_tokens=max_tokens * 2)
        if "parts" in sections:
            report["parts"] = bench_parts(tmp, rounds=rounds, calls=calls)
    report["loadavg_after"] = os.getloadavg()
    return report


def _f(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _print(report: dict[str, Any]) -> None:
    a, b = report["loadavg_before"], report["loadavg_after"]
    print(
        f"bench overhead: median of {report['rounds']} rounds; {report['cpus']} CPUs, "
        f"load average {a[0]:.2f} -> {b[0]:.2f}"
    )
    if s := report.get("serve"):
        print(
            f"\n[serve] FakeBackend, {s['clients']} clients ({s['client']}), "
            f"{s['seconds']:g}s/round"
        )
        print(
            f"  {'':<12}{'req/s':>9}{'p50 ms':>9}{'cpu ms/req':>12}"
            f"{'req/s vs bare':>15}{'bare cpu / cpu':>16}"
        )
        for name in [k for k in s if k.startswith(("serve_", "bare"))]:
            row = s[name]
            print(
                f"  {name:<12}{_f(row['rps'], '.0f'):>9}{_f(row['p50_ms']):>9}"
                f"{_f(row['cpu_ms']):>12}{_f(row.get('rps_vs_bare'), '.3f'):>15}"
                f"{_f(row.get('cpu_vs_bare'), '.3f'):>16}"
            )
        print(
            "  bare_graph: the bare app running a no-op LangGraph graph of the "
            "router's shape per request (the floor of a LangGraph server); "
            f"its CPU / serve's: {_f(s.get('cpu_vs_graph_floor'), '.3f')}"
        )
    if g := report.get("graph"):
        print(f"\n[graph] one client, {g['calls']} calls/round, {g['nodes']} nodes")
        print(
            f"  {'':<34}{'p50 ms':>8}{'vs bare':>9}{'Python calls':>14}{'vs bare':>9}"
        )
        for label, key, ratio in (
            ("Router.ainvoke (stepped)", "router", ""),
            ("router.graph.ainvoke (Pregel)", "pregel", "pregel_"),
            ("bare LangGraph graph, no-op nodes", "bare", None),
        ):
            print(
                f"  {label:<34}{_f(g[f'{key}_p50_ms'], '.3f'):>8}"
                f"{_f(g[f'{ratio}ratio'] if ratio is not None else 1.0):>8}x"
                f"{_f(g[f'{key}_calls'], '.0f'):>14}"
                f"{_f(g[f'{ratio}calls_ratio'] if ratio is not None else 1.0):>8}x"
            )
    if k := report.get("ask"):
        print(
            f"\n[ask] cold process, bundled SmolLM2 on llama.cpp, --max-tokens 1, "
            f"prompt {k['prompt']!r}"
        )
        print(
            f"  qwen-router ask first byte {_f(k['ask_first_byte_s'])} s "
            f"(exit {_f(k['ask_exit_s'])} s), bare llama-cpp-python "
            f"{_f(k['bare_first_byte_s'])} s (exit {_f(k['bare_exit_s'])} s), "
            f"ratio {_f(k['ratio'])}x"
        )
        print(
            f"  the bare script after importing LangGraph and compiling a one-node "
            f"graph: {_f(k.get('graph_floor_first_byte_s'))} s, "
            f"{_f(k.get('floor_ratio'))}x the bare script"
        )
    if t := report.get("stream"):
        print(
            f"\n[stream] serve -> llama_cpp.server vs direct, {t['requests']} streams "
            f"of ~{_f(t['tokens'], '.0f')} tokens (content tokens each: {t['tokens_each']})"
        )
        print(
            f"  first token: direct {t['direct_first_ms']:.1f} ms, serve "
            f"{t['serve_first_ms']:.1f} ms, added {t['added_first_ms']:.1f} ms"
        )
        print(
            f"  per token:   direct {t['direct_per_token_ms']:.2f} ms, serve "
            f"{t['serve_per_token_ms']:.2f} ms, "
            f"added {t['added_per_token_ms']:.2f} ms"
        )
        print(
            f"  last token to end of stream: direct {t['direct_end_ms']:.1f} ms, serve "
            f"{t['serve_end_ms']:.1f} ms, added {t['added_end_ms']:.1f} ms"
        )
        for name, what in (
            ("proxy", "a bare FastAPI proxy relaying the upstream's bytes"),
            ("graph_proxy", "that proxy streaming through a no-op LangGraph graph"),
        ):
            if f"{name}_added_first_ms" in t:
                print(
                    f"  floor, {what}: added {t[f'{name}_added_first_ms']:.1f} ms "
                    f"first token, {t[f'{name}_added_per_token_ms']:.2f} ms per token"
                )
        if "serve_cpu_ms" in t:
            proxy_cpu, serve_cpu = t.get("proxy_cpu_ms") or 0.0, t["serve_cpu_ms"]
            ratio = f" ({serve_cpu / proxy_cpu:.1f}x the bare proxy)" if proxy_cpu else ""
            print(
                f"  CPU per stream: serve {serve_cpu:.1f} ms{ratio}, bare proxy "
                f"{proxy_cpu:.1f} ms, graph proxy {t.get('graph_proxy_cpu_ms', 0):.1f} ms"
            )
    if p := report.get("parts"):
        _print_parts(p)
    if m := report.get("model"):
        print(
            f"\n[model] Router.invoke, bundled model, max_tokens {m['max_tokens']}"
        )
        for kind in MODEL_PROMPTS:
            row = m[kind]
            print(
                f"  {kind:<8} (route {row['route']}): total {row['total_ms']:.1f} ms, "
                f"overhead {row['overhead_ms']:.1f} ms "
                f"= {100 * (row['share'] or 0):.1f}%"
            )


def _print_parts(p: dict[str, Any]) -> None:
    us, share = p["us"], p["share"]
    print(
        f"\n[parts] one serve request in-process (ASGI, no socket), FakeBackend; "
        f"medians of {p['chunks']} interleaved chunks of {p['calls']} calls"
    )
    print(
        f"  serve {us['serve']:.0f} us, bare app {us['bare']:.0f} us: "
        f"{p['serve_vs_bare']:.2f}x"
    )
    for name, what in (
        ("http", "HTTP layer (plan and result made before)"),
        ("plan", "RouterService.plan"),
        ("classify", "  of it, the classifier"),
        ("invoke", "RouterService.invoke: gate, graph run, metrics"),
    ):
        print(f"  {what:<50}{us[name]:>7.0f} us {100 * share[name]:>5.1f}%")
    print(
        f"  each alone, HTTP layer + plan + invoke come to "
        f"{100 * p['parts_alone']:.0f}% of serve: the rest is what they cost more "
        f"one after another (likely CPU caches)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``qwen-router bench overhead``."""
    parser = argparse.ArgumentParser(
        prog="qwen-router bench overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="serve: per round")
    parser.add_argument("--concurrency", type=int, default=16, help="serve: clients")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="serve")
    parser.add_argument("--calls", type=int, default=300, help="graph, parts: per round")
    parser.add_argument("--streams", type=int, default=6, help="stream: per round")
    parser.add_argument("--max-tokens", type=int, default=16, help="stream, model")
    parser.add_argument("--ask-prompt", default=ASK_PROMPT, help="ask: the prompt")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(
        args.only,
        rounds=max(1, args.rounds),
        seconds=max(0.5, args.seconds),
        clients=max(1, args.concurrency),
        workers=args.workers,
        calls=max(10, args.calls),
        stream_requests=max(1, args.streams),
        max_tokens=max(2, args.max_tokens),
        ask_prompt=args.ask_prompt,
    )
    print(json.dumps(report, default=str) if args.json else "", end="")
    if not args.json:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

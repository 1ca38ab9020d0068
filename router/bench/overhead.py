"""What the router costs next to the bare parts it is built from, stated as ratios.

One run measures, side by side, interleaving the two halves of every pair in each
round (so that a change in machine load hits both) and reporting medians over rounds:

- **serve**: ``qwen-router serve`` (1 worker, then ``--workers 2``) against a bare
  FastAPI + uvicorn app that answers the same ``chat.completion`` JSON, both under
  the same closed-loop HTTP load: requests/s and server CPU ms per request. Every
  route is ``FakeBackend`` (an instant, overhead-measuring fake, not a model).
- **graph**: ``Router.ainvoke`` (FakeBackend) against a bare LangGraph graph with the
  same nodes and edges whose nodes do nothing: p50 of one client.
- **cold ask**: ``qwen-router ask --max-tokens 1`` (the bundled SmolLM2 on llama.cpp,
  ``local`` profile) against a bare llama-cpp-python script that loads the same GGUF
  and emits one token: wall time from ``exec`` to the first byte on stdout.
- **stream**: ``serve`` in front of a real ``python -m llama_cpp.server`` (bundled
  GGUF) against that upstream called directly: ms added to the first token and per
  token of an SSE stream.
- **model**: ``Router.invoke`` on the bundled model: overhead (total minus
  generation) as a share of the request, per route (math pays its verifier).

    qwen-router bench overhead [--rounds 3] [--seconds 2] [--concurrency 16]
                               [--only serve graph ask stream model] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qwen_router.bench.server import (
    PROMPT,
    HttpxLoad,
    cpu_seconds,
    free_port,
    overhead_profile,
    start_server,
    wait_ready,
)

__all__ = ["SECTIONS", "main", "run"]

SECTIONS = ("serve", "graph", "ask", "stream", "model")
ASK_PROMPT = "What is the capital of France?"
MODEL_PROMPTS = {
    "general": "What is the capital of France?",
    "code": "Write a Python function that reverses a string.",
    "math": "What is 12 * 7?",
}

# The bare FastAPI app: parses the request with a pydantic model and answers the same
# chat.completion shape as `serve`; uvicorn with the same defaults (uvloop, httptools).
_BARE_APP = '''
import sys, time, uuid
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

class Body(BaseModel):
    model: str
    messages: list[dict]
    stream: bool = False

app = FastAPI()

@app.post("/v1/chat/completions")
async def chat(body: Body) -> dict:
    return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion",
            "created": int(time.time()), "model": body.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}}

@app.get("/readyz")
async def ready() -> dict:
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
'''

# The bare llama.cpp script: load the GGUF as the backend does, stream one token.
_BARE_LLAMA = '''
import os, sys
import llama_cpp
n = os.cpu_count() or 1
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=4096, n_threads=n,
                      n_threads_batch=n, n_batch=512, verbose=False)
messages = [{"role": "user", "content": sys.argv[2]}]
for chunk in llm.create_chat_completion(messages, max_tokens=1, temperature=0.0,
                                        stream=True):
    text = chunk["choices"][0]["delta"].get("content")
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
'''


def _median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- serve vs bare FastAPI -------------------------------------------------------
def _load_round(load: HttpxLoad, pid: int, seconds: float, clients: int) -> dict[str, Any]:
    before = cpu_seconds(pid)
    n, wall, p50, _ = load(seconds, clients)
    after = cpu_seconds(pid)
    cpu = after - before if before is not None and after is not None else None
    return {"rps": n / wall, "p50_ms": p50, "cpu_ms": cpu * 1000 / n if cpu and n else None}


def bench_serve(tmp: Path, *, seconds: float, rounds: int, clients: int,
                workers: Sequence[int]) -> dict[str, Any]:  # fmt: skip
    profile = overhead_profile(tmp)
    bare_script = tmp / "bare_app.py"
    bare_script.write_text(_BARE_APP, encoding="utf-8")
    procs: dict[str, tuple[subprocess.Popen[Any], HttpxLoad]] = {}
    try:
        port = free_port()
        bare = subprocess.Popen([sys.executable, str(bare_script), str(port)])
        procs["bare"] = (bare, HttpxLoad(f"http://127.0.0.1:{port}", False))
        wait_ready(f"http://127.0.0.1:{port}", bare, 1)
        for w in workers:
            port = free_port()
            child = start_server(profile, port, w)
            procs[f"serve_{w}w"] = (child, HttpxLoad(f"http://127.0.0.1:{port}", False))
            wait_ready(f"http://127.0.0.1:{port}", child, w)
        for proc, load in procs.values():  # warm-up: connections, lazy imports
            load(1, clients)
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in procs}
        for _ in range(rounds):
            for name, (proc, load) in procs.items():
                samples[name].append(_load_round(load, proc.pid, seconds, clients))
    finally:
        for proc, _ in procs.values():
            _stop(proc)
    out: dict[str, Any] = {"clients": clients, "seconds": seconds}
    for name, rows in samples.items():
        out[name] = {k: _median([r[k] for r in rows]) for k in ("rps", "p50_ms", "cpu_ms")}
    for w in workers:
        out[f"serve_{w}w"]["rps_vs_bare"] = _ratio(out[f"serve_{w}w"]["rps"], out["bare"]["rps"])
    return out


# --- Router.ainvoke vs a bare LangGraph graph ------------------------------------
def _bare_graph(router_graph: Any) -> Any:
    """Same node names and edges as the router's graph; every node does nothing."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        request: Any
        result: Any

    async def noop(state: State) -> dict[str, Any]:
        return {"result": 1}

    shape = router_graph.get_graph()
    builder: Any = StateGraph(State)
    names = [n for n in shape.nodes if n not in ("__start__", "__end__")]
    for name in names:
        builder.add_node(name, noop)
    branches: dict[str, list[str]] = {}
    for edge in shape.edges:
        target = END if edge.target == "__end__" else edge.target
        source = START if edge.source == "__start__" else edge.source
        if edge.conditional:
            branches.setdefault(source, []).append(target)
        else:
            builder.add_edge(source, target)
    for source, targets in branches.items():
        # the common path: the first non-verify target (generate -> respond)
        pick = next((t for t in targets if t == "respond"), targets[-1])
        builder.add_conditional_edges(source, lambda s, p=pick: p, targets)
    return builder.compile()


async def _p50_ms(call: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def bench_graph(tmp: Path, *, calls: int, rounds: int) -> dict[str, Any]:
    from qwen_router.core import Router

    with Router(str(overhead_profile(tmp))) as router:
        bare = _bare_graph(router.graph)

        async def measure() -> tuple[list[float], list[float]]:
            ours, theirs = [], []
            await _p50_ms(lambda: router.ainvoke(PROMPT), 50)  # warm-up
            await _p50_ms(lambda: bare.ainvoke({"request": PROMPT}), 50)
            for _ in range(rounds):
                ours.append(await _p50_ms(lambda: router.ainvoke(PROMPT), calls))
                theirs.append(await _p50_ms(lambda: bare.ainvoke({"request": PROMPT}), calls))
            return ours, theirs

        ours, theirs = asyncio.run(measure())
        nodes = len([n for n in router.graph.get_graph().nodes if not n.startswith("__")])
    r, b = _median(ours), _median(theirs)
    return {"nodes": nodes, "calls": calls, "router_p50_ms": r, "bare_p50_ms": b,
            "ratio": _ratio(r, b)}  # fmt: skip


# --- cold ask vs a bare llama.cpp script -----------------------------------------
def _first_byte(command: list[str]) -> tuple[float, float]:
    """Seconds from exec to the first stdout byte, and to exit."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {proc.returncode}")
    return first, time.perf_counter() - start


def bench_ask(tmp: Path, *, rounds: int) -> dict[str, Any]:
    from qwen_router.backends.bundled import ensure_gguf

    gguf = ensure_gguf("smollm2-135m-instruct")
    script = tmp / "bare_llama.py"
    script.write_text(_BARE_LLAMA, encoding="utf-8")
    ask = [sys.executable, "-m", "qwen_router.cli", "ask", "--profile", "local",
           "--max-tokens", "1", ASK_PROMPT]  # fmt: skip
    bare = [sys.executable, str(script), str(gguf), ASK_PROMPT]
    _first_byte(ask), _first_byte(bare)  # warm-up: page cache, bytecode
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(_first_byte(ask))
        theirs.append(_first_byte(bare))
    r, b = _median([o[0] for o in ours]), _median([t[0] for t in theirs])
    return {"ask_first_byte_s": r, "bare_first_byte_s": b, "ratio": _ratio(r, b),
            "ask_exit_s": _median([o[1] for o in ours]),
            "bare_exit_s": _median([t[1] for t in theirs])}  # fmt: skip


# --- serve streaming vs the upstream directly ------------------------------------
def _start_llama_server(gguf: Path, port: int, log: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
         "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def _stream_once(client: Any, url: str, max_tokens: int) -> tuple[float, float, int]:
    """(first-token s, total s, content chunks) of one streamed chat completion."""
    body = {"model": "smollm2", "stream": True, "max_tokens": max_tokens,
            "temperature": 0.0, "messages": [{"role": "user", "content": ASK_PROMPT}]}
    start, first, chunks = time.perf_counter(), None, 0
    async with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"]
            if delta and delta[0].get("delta", {}).get("content"):
                chunks += 1
                first = first or time.perf_counter() - start
    return first or 0.0, time.perf_counter() - start, chunks


def bench_stream(tmp: Path, *, rounds: int, requests: int, max_tokens: int) -> dict[str, Any]:
    import httpx

    from qwen_router.backends.bundled import ensure_gguf

    gguf = ensure_gguf("smollm2-135m-instruct")
    up_port, port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    profile = tmp / "stream.yaml"
    routes = "".join(f"  {r}:\n    model: openai:smollm2\n"
                     for r in ("general", "code", "math", "vision", "multilingual"))  # fmt: skip
    profile.write_text(
        f"name: stream\ndescription: serve in front of llama_cpp.server\n"
        f"backends:\n  openai: {{base_url: '{upstream}/v1', api_key: 'none'}}\n"
        f"routes:\n{routes}", encoding="utf-8")  # fmt: skip
    log = (tmp / "llama_server.log").open("w+b")
    llama = _start_llama_server(gguf, up_port, log)
    serve = None
    try:
        wait_ready_models(upstream, llama)
        serve = start_server(profile, port, 1)
        wait_ready(f"http://127.0.0.1:{port}", serve, 1)
        ours = f"http://127.0.0.1:{port}"

        async def measure() -> dict[str, list[tuple[float, float, int]]]:
            got: dict[str, list[tuple[float, float, int]]] = {"direct": [], "serve": []}
            async with httpx.AsyncClient(timeout=120) as client:
                for url in (upstream, ours):  # warm-up: engine probe, connections
                    await _stream_once(client, url, max_tokens)
                for _ in range(rounds * requests):
                    got["direct"].append(await _stream_once(client, upstream, max_tokens))
                    got["serve"].append(await _stream_once(client, ours, max_tokens))
            return got

        got = asyncio.run(measure())
    finally:
        for proc in (serve, llama):
            if proc is not None:
                _stop(proc)
        log.close()

    def per_token(rows: list[tuple[float, float, int]]) -> float | None:
        return _median([(t - f) / (n - 1) for f, t, n in rows if n > 1])

    d, s = got["direct"], got["serve"]
    out = {
        "requests": len(d), "max_tokens": max_tokens,
        "tokens": _median([n for _, _, n in s]),
        "direct_first_ms": _median([f for f, _, _ in d]) * 1000,  # type: ignore[operator]
        "serve_first_ms": _median([f for f, _, _ in s]) * 1000,  # type: ignore[operator]
        "direct_per_token_ms": (per_token(d) or 0.0) * 1000,
        "serve_per_token_ms": (per_token(s) or 0.0) * 1000,
    }  # fmt: skip
    out["added_first_ms"] = out["serve_first_ms"] - out["direct_first_ms"]
    out["added_per_token_ms"] = out["serve_per_token_ms"] - out["direct_per_token_ms"]
    return out


def wait_ready_models(base: str, proc: subprocess.Popen[Any]) -> None:
    """Wait until an OpenAI-compatible server lists its models (120 s at most)."""
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("llama_cpp.server exited during start-up")
        try:
            if httpx.get(f"{base}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("llama_cpp.server did not start in 120 s")


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
        for _ in range(rounds):
            for route, prompt in MODEL_PROMPTS.items():
                t = router.invoke(prompt, route=route, params=params).timings
                rows[route].append((t.total_ms, t.total_ms - t.generate_ms - t.load_ms))
    for route, samples in rows.items():
        total = _median([s[0] for s in samples]) or 0.0
        over = _median([s[1] for s in samples]) or 0.0
        out[route] = {"total_ms": total, "overhead_ms": over,
                      "share": over / total if total else None}  # fmt: skip
    return out

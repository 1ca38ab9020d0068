"""``serve`` streaming in front of a real ``python -m llama_cpp.server`` (the bundled
GGUF) against that upstream called directly, request by request, interleaved; and,
as floors, a bare FastAPI proxy and the same proxy streaming through a no-op LangGraph
graph of the router's shape (:data:`~qwen_router.bench.baselines.BARE_PROXY`,
:data:`~qwen_router.bench.baselines.BARE_GRAPH_PROXY`).

What each side adds is the median of paired differences: every stream against the
direct stream taken just before it, so the machine's drift between rounds cancels."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qwen_router.bench.baselines import BARE_GRAPH_PROXY, BARE_PROXY
from qwen_router.bench.server import (
    cpu_seconds,
    free_port,
    median,
    start_server,
    stop_process,
    wait_ready,
)

__all__ = ["MEASURES", "bench_stream", "paired_added", "wait_ready_models"]

PROMPT = "What is the capital of France?"


def _start_llama_server(gguf: Path, port: int, log: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qwen_router.backends.llamacpp.server",  # llama_cpp.server, AMX-safe
            "--model",
            str(gguf),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


Sample = tuple[float, float, float, int]
# the sides that are servers of ours, in the order they are started
_SERVERS = ("proxy", "graph_proxy", "serve")


def _per_token(row: Sample) -> float | None:
    """The gap between content tokens: first to last, over the gaps between them
    (``None`` for a stream of one token)."""
    first, last, _, chunks = row
    return (last - first) / (chunks - 1) if chunks > 1 else None


# what is measured of each stream: its first token, its per-token gap, and the time
# from its last token to the end of the stream
MEASURES: dict[str, Callable[[Sample], float | None]] = {
    "first": lambda row: row[0],
    "per_token": _per_token,
    "end": lambda row: row[2] - row[1],
}


async def _stream_once(client: Any, url: str, max_tokens: int) -> Sample:
    """(first-token s, last-token s, total s, content chunks) of one streamed chat,
    each time from the request's start."""
    body = {
        "model": "smollm2",
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    start, first, last, chunks = time.perf_counter(), None, 0.0, 0
    async with client.stream(
        "POST", url + "/v1/chat/completions", json=body
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            delta = data.get("choices")
            if delta and delta[0].get("delta", {}).get("content"):
                chunks += 1
                last = time.perf_counter() - start
                first = first or last
    return first or 0.0, last, time.perf_counter() - start, chunks


def bench_stream(
    tmp: Path, *, rounds: int, requests: int, max_tokens: int
) -> dict[str, Any]:
    import httpx
    from qwen_router.backends.bundled import ensure_gguf

    gguf = ensure_gguf("smollm2-135m-instruct")
    up_port, port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    profile = tmp / "stream.yaml"
    # a template that adds nothing: upstream gets the same messages either way, so both
    # sides generate the same tokens and end the same way (like for like)
    (tmp / "templates").mkdir(exist_ok=True)
    (tmp / "templates" / "passthrough.yaml").write_text(
        "description: the client's messages unchanged\n", encoding="utf-8"
    )
    routes = "".join(
        f"  {r}:\n    model: openai:smollm2\n    template: passthrough\n"
        for r in ("general", "code", "math", "vision", "multilingual")
    )
    profile.write_text(
        f"name: stream\ndescription: serve in front of llama_cpp.server\n"
        f"templates_dir: templates\n"
        f"backends:\n  openai: {{base_url: '{upstream}/v1', api_key: 'none'}}\n"
        f"routes:\n{routes}",
        encoding="utf-8",
    )
    log = (tmp / "llama_server.log").open("w+b")
    llama = _start_llama_server(gguf, up_port, log)
    procs: list[subprocess.Popen[Any]] = []
    try:
        wait_ready_models(upstream, llama)
        urls = {"direct": upstream}
        for name, source in (("proxy", BARE_PROXY), ("graph_proxy", BARE_GRAPH_PROXY)):
            script = tmp / f"bare_{name}.py"
            script.write_text(source, encoding="utf-8")
            proxy_port = free_port()
            argv = [str(script), str(proxy_port), upstream, str(profile)]
            procs.append(subprocess.Popen([sys.executable, *argv]))
            urls[name] = f"http://127.0.0.1:{proxy_port}"
            wait_ready(urls[name], procs[-1], 1)
        procs.append(start_server(profile, port, 1))
        urls["serve"] = f"http://127.0.0.1:{port}"
        wait_ready(urls["serve"], procs[-1], 1)

        pids = {name: proc.pid for name, proc in zip(_SERVERS, procs, strict=True)}
        cpu = dict.fromkeys(pids, 0.0)

        async def measure() -> dict[str, list[Sample]]:
            got: dict[str, list[Sample]] = {name: [] for name in urls}
            async with httpx.AsyncClient(timeout=120) as client:
                for url in urls.values():  # warm-up: engine probe, connections
                    await _stream_once(client, url, max_tokens)
                for _ in range(rounds * requests):
                    for name, url in urls.items():
                        before = cpu_seconds(pids[name]) if name in pids else None
                        got[name].append(await _stream_once(client, url, max_tokens))
                        if before is not None:
                            cpu[name] += (cpu_seconds(pids[name]) or before) - before
            return got

        got = asyncio.run(measure())
    finally:
        for proc in [*procs, llama]:
            stop_process(proc)
        log.close()

    out: dict[str, Any] = {
        "requests": len(got["direct"]),
        "max_tokens": max_tokens,
        "tokens": median([r[3] for r in got["serve"]]),
        # like for like: the same prompt gives the same content tokens on every side
        "tokens_each": {
            name: median([r[3] for r in rows]) for name, rows in got.items()
        },
    }
    for name, rows in got.items():
        for part, of in MEASURES.items():
            out[f"{name}_{part}_ms"] = (
                median([of(row) for row in rows]) or 0.0
            ) * 1000
    # paired: each stream against the direct stream taken just before it, so a drift
    # of the machine's speed between rounds cancels out of what is added
    for name in _SERVERS:
        prefix = "" if name == "serve" else f"{name}_"
        # the server process's CPU per stream (clock ticks: coarse, summed over all)
        out[f"{name}_cpu_ms"] = cpu[name] / len(got[name]) * 1000
        for part, of in MEASURES.items():
            out[f"{prefix}added_{part}_ms"] = (
                paired_added(got[name], got["direct"], of) or 0.0
            ) * 1000
    return out


def paired_added(
    rows: list[Sample], direct: list[Sample], of: Callable[[Sample], float | None]
) -> float | None:
    """The median of ``of(row) - of(direct row)`` over the interleaved pairs."""
    return median(
        [
            mine - theirs
            for row, base in zip(rows, direct, strict=True)
            if (mine := of(row)) is not None and (theirs := of(base)) is not None
        ]
    )


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

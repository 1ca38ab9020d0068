"""Server overhead benchmark: what the HTTP layer adds on top of the router.

Every route is served by ``FakeBackend`` — a scripted backend that answers at once and
exists to measure the framework's own overhead (it is not a model). The server runs in
a child process (uvicorn, one worker); this process is the load generator. For each
concurrency level it reports requests per second and p50 / p99 latency over HTTP
(OpenAI ``/v1/chat/completions``), next to the same requests through the router in
process (``Router.ainvoke``; ``Router.invoke`` at 1 client), and a per-request cost
breakdown: classifier, backend, and the LangGraph graph around them.

    qwen-router bench server [--requests 400] [--concurrency 1 16 64] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "run"]

_ROUTES = ("general", "code", "math", "vision", "multilingual")
PROMPT = "Hello there, how are you today?"


def _profile(directory: Path) -> Path:
    routes = "\n".join(
        f"  {r}:\n    model: fake:overhead\n    template: {r}" for r in _ROUTES
    )
    path = directory / "overhead.yaml"
    path.write_text(
        "name: overhead\ndescription: FakeBackend only, to measure overhead\n"
        f"backends:\n  fake: {{reply: 'ok', record: false}}\nroutes:\n{routes}\n",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(profile: str, port: int) -> int:
    """Child-process entry: serve ``profile`` on ``port`` until terminated."""
    import logging

    import uvicorn
    from qwen_router.server import create_app
    from qwen_router.settings import Settings

    logging.getLogger("qwen_router").setLevel(logging.WARNING)
    settings = Settings(profile=profile, port=port, backend_concurrency=1024)
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    return 0


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return p50 * 1000, p99 * 1000


async def _drive(
    call: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    p50, p99 = _percentiles(latencies)
    return {"rps": len(latencies) / wall, "p50_ms": p50, "p99_ms": p99}


async def _http_level(
    url: str, requests: int, concurrency: int, stream: bool
) -> dict[str, float]:
    import httpx

    body = {
        "model": "auto",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
    }
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def call() -> None:
            response = await client.post("/v1/chat/completions", json=body)
            if response.status_code != 200:
                raise RuntimeError(
                    f"server answered {response.status_code}: {response.text}"
                )

        await _drive(call, min(20, requests), concurrency)  # warm-up
        return await _drive(call, requests, concurrency)


async def _inprocess_level(
    router: Any, requests: int, concurrency: int
) -> dict[str, float]:
    async def call() -> None:
        await router.ainvoke(PROMPT)

    await _drive(call, min(20, requests), concurrency)
    return await _drive(call, requests, concurrency)


def _sync_level(router: Any, requests: int) -> dict[str, float]:
    for _ in range(min(20, requests)):
        router.invoke(PROMPT)
    latencies = []
    start = time.perf_counter()
    for _ in range(requests):
        t = time.perf_counter()
        router.invoke(PROMPT)
        latencies.append(time.perf_counter() - t)
    p50, p99 = _percentiles(latencies)
    return {
        "rps": requests / (time.perf_counter() - start),
        "p50_ms": p50,
        "p99_ms": p99,
    }


def _breakdown(router: Any, requests: int) -> dict[str, float]:
    """Median per-request milliseconds of each part, in process, one at a time."""
    from qwen_router.backends.base import GenerateRequest
    from qwen_router.types import Message

    messages = [Message(role="user", content=PROMPT)]
    backend = router.pool.get("fake")
    request = GenerateRequest(model="overhead", messages=messages)

    def median_ms(fn: Callable[[], Any]) -> float:
        samples = []
        for _ in range(requests):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples) * 1000

    classify = median_ms(lambda: router.classifier.classify(messages))
    generate = median_ms(lambda: backend.generate(request))
    total = median_ms(lambda: router.invoke(PROMPT))
    return {
        "classify_ms": classify,
        "backend_ms": generate,
        "router_invoke_ms": total,
        "graph_ms": max(0.0, total - classify - generate),
    }


def run(
    requests: int, levels: Sequence[int], *, stream: bool = False
) -> dict[str, Any]:
    """Measure everything; return the report as a dict.

    Raises:
        RuntimeError: the server did not start or answered with an error.
    """
    from qwen_router.core import Router

    with tempfile.TemporaryDirectory() as tmp:
        profile = _profile(Path(tmp))
        port = _free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qwen_router.bench.server",
                "--serve",
                str(profile),
                str(port),
            ],
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, child)
            http = {
                c: asyncio.run(_http_level(url, requests, c, stream)) for c in levels
            }
        finally:
            child.terminate()
            child.wait(timeout=30)
        router = Router(str(profile))
        try:
            inproc = {
                c: asyncio.run(_inprocess_level(router, requests, c)) for c in levels
            }
            sync = _sync_level(router, requests)
            parts = _breakdown(router, min(requests, 200))
        finally:
            router.close()
    return {
        "requests_per_level": requests,
        "stream": stream,
        "cpus": os.cpu_count(),
        "http": http,
        "in_process_ainvoke": inproc,
        "in_process_invoke_1_client": sync,
        "breakdown": parts,
        "added_p50_ms": {c: http[c]["p50_ms"] - inproc[c]["p50_ms"] for c in levels},
    }


def _wait_ready(url: str, child: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("the benchmark server exited during start-up")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the benchmark server did not become ready")


def _print(report: dict[str, Any]) -> None:
    print(
        f"server overhead: FakeBackend (instant, overhead-measuring fake), "
        f"{report['requests_per_level']} requests per level, {report['cpus']} CPUs, "
        f"stream={report['stream']}"
    )
    print(
        f"{'clients':>7} | {'HTTP req/s':>10} {'p50 ms':>8} {'p99 ms':>8} | "
        f"{'in-proc req/s':>13} {'p50 ms':>8} {'p99 ms':>8} | {'added p50':>9}"
    )
    for c, h in report["http"].items():
        i = report["in_process_ainvoke"][c]
        print(
            f"{c:>7} | {h['rps']:>10.0f} {h['p50_ms']:>8.2f} {h['p99_ms']:>8.2f} | "
            f"{i['rps']:>13.0f} {i['p50_ms']:>8.2f} {i['p99_ms']:>8.2f} | "
            f"{report['added_p50_ms'][c]:>8.2f}ms"
        )
    s = report["in_process_invoke_1_client"]
    print(
        f"Router.invoke, 1 client: {s['rps']:.0f} req/s, p50 {s['p50_ms']:.2f} ms, "
        f"p99 {s['p99_ms']:.2f} ms"
    )
    b = report["breakdown"]
    print(
        f"per request (median): classify {b['classify_ms']:.3f} ms, backend "
        f"{b['backend_ms']:.3f} ms, graph {b['graph_ms']:.3f} ms "
        f"(Router.invoke {b['router_invoke_ms']:.3f} ms)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``qwen-router bench server``.

    Raises:
        RuntimeError: the benchmark server failed.
    """
    parser = argparse.ArgumentParser(
        prog="qwen-router bench server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--stream", action="store_true", help="SSE streams instead of JSON"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--serve", nargs=2, metavar=("PROFILE", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args.serve[0], int(args.serve[1]))
    report = run(max(1, args.requests), args.concurrency, stream=args.stream)
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

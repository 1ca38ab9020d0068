"""Server overhead benchmark: what the HTTP layer adds on top of the router.

Every route is served by ``FakeBackend`` — a scripted backend that answers at once and
exists to measure the framework's own overhead (it is not a model). The server runs in
child processes (``qwen-router serve``'s code path: uvicorn, ``--workers N``, request
logs off); the load comes from another process: ``wrk`` (C, keep-alive connections,
negligible client cost) when it is on ``PATH``, else an ``httpx.AsyncClient`` with a
keep-alive pool in this process (a Python client: it competes for the same CPUs).

Each round measures, for every concurrency level, ``seconds`` of closed-loop load over
HTTP (OpenAI ``/v1/chat/completions``) and then the same load through the router in
process (``Router.ainvoke``, N asyncio clients), plus ``Router.invoke`` at 1 client.
Rounds interleave the two so that a change in machine load hits both; the report gives
the median over rounds of requests/s, p50 / p99 latency and CPU milliseconds per
request (server processes for HTTP, this process for in-process; CPU time is the
figure least disturbed by other work on the machine), and the ratios HTTP / in-process.

    qwen-router bench server [--seconds 3] [--rounds 3] [--concurrency 1 16 64]
                             [--workers 1] [--client auto|wrk|httpx] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "HttpxLoad",
    "PROMPT",
    "WrkLoad",
    "closed_loop",
    "cpu_seconds",
    "free_port",
    "main",
    "median",
    "overhead_profile",
    "percentiles",
    "request_body",
    "run",
    "start_server",
    "stop_process",
    "wait_ready",
]

_ROUTES = ("general", "code", "math", "vision", "multilingual")
PROMPT = "Hello there, how are you today?"
_PATH = "/v1/chat/completions"


def overhead_profile(directory: Path) -> Path:
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


def request_body(stream: bool) -> dict[str, Any]:
    messages = [{"role": "user", "content": PROMPT}]
    return {"model": "auto", "messages": messages, "stream": stream}


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values that were measured (``None``: not measured)."""
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 30.0) -> None:
    """Terminate ``proc``; kill it if it has not exited within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(profile: str, port: int, workers: int) -> int:
    """Child-process entry: serve ``profile`` on ``port`` until terminated."""
    from qwen_router.server.run import serve
    from qwen_router.settings import Settings

    settings = Settings(
        profile=profile, port=port, backend_concurrency=1024, log_level="warning"
    )
    return serve(settings, workers=workers)


# --- measuring ------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    """CPU time of ``pid`` and its descendants (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child)) or 0.0
        return total
    except (OSError, ValueError, IndexError):
        return None


def _result(
    n: int, wall: float, p50: float, p99: float, cpu: float | None
) -> dict[str, Any]:
    return {
        "requests": n,
        "rps": n / wall,
        "p50_ms": p50,
        "p99_ms": p99,
        "cpu_ms_per_request": cpu * 1000 / n if cpu is not None and n else None,
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def closed_loop(
    call: Callable[[], Awaitable[None]], seconds: float, concurrency: int
) -> tuple[int, float, float, float]:
    """``concurrency`` clients calling back to back for ``seconds``."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return (len(latencies), wall, *percentiles(latencies))


def _inprocess(router: Any, seconds: float, concurrency: int) -> dict[str, Any]:
    async def call() -> None:
        await router.ainvoke(PROMPT)

    cpu = time.process_time()
    n, wall, p50, p99 = asyncio.run(closed_loop(call, seconds, concurrency))
    return _result(n, wall, p50, p99, time.process_time() - cpu)


def _sync(router: Any, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    cpu, start = time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        router.invoke(PROMPT)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    return _result(
        len(latencies), wall, *percentiles(latencies), time.process_time() - cpu
    )


class WrkLoad:
    """``wrk`` as the load generator: one thread, ``concurrency`` connections."""

    name = "wrk"

    def __init__(self, url: str, stream: bool, directory: Path) -> None:
        self.url = url + _PATH
        self.script = directory / "post.lua"
        self.script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = [[{json.dumps(request_body(stream))}]]\n"
            'wrk.headers["Content-Type"] = "application/json"\n',
            encoding="utf-8",
        )

    def __call__(
        self, seconds: float, concurrency: int
    ) -> tuple[int, float, float, float]:
        command = [
            "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
            "--latency", "-s", str(self.script), self.url,
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad or "Socket errors" in out:
            raise RuntimeError(f"the server answered with errors:\n{out}")
        done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
        if done is None:
            raise RuntimeError(f"cannot read wrk's output:\n{out}")
        wall = float(done.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[done.group(3)]
        return int(done.group(1)), wall, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, label: str) -> float:
    found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if found is None:
        raise RuntimeError(f"no {label} latency in wrk's output:\n{out}")
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


class HttpxLoad:
    """``httpx.AsyncClient`` with a keep-alive pool, in this process."""

    name = "httpx"

    def __init__(self, url: str, stream: bool) -> None:
        self.url, self.body = url, request_body(stream)

    def __call__(
        self, seconds: float, concurrency: int
    ) -> tuple[int, float, float, float]:
        return asyncio.run(self._run(seconds, concurrency))

    async def _run(
        self, seconds: float, concurrency: int
    ) -> tuple[int, float, float, float]:
        import httpx

        limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency
        )
        async with httpx.AsyncClient(
            base_url=self.url, limits=limits, timeout=60
        ) as client:

            async def call() -> None:
                response = await client.post(_PATH, json=self.body)
                if response.status_code != 200:
                    raise RuntimeError(f"server answered {response.status_code}")

            return await closed_loop(call, seconds, concurrency)


def _http(load: Any, pid: int, seconds: float, concurrency: int) -> dict[str, Any]:
    before = cpu_seconds(pid)
    n, wall, p50, p99 = load(seconds, concurrency)
    after = cpu_seconds(pid)
    cpu = after - before if before is not None and after is not None else None
    return _result(n, wall, p50, p99, cpu)


def _breakdown(router: Any, count: int) -> dict[str, float]:
    """Median per-request milliseconds of each part, in process, one at a time."""
    from qwen_router.backends.base import GenerateRequest
    from qwen_router.types import Message

    messages = [Message(role="user", content=PROMPT)]
    backend = router.pool.get("fake")
    request = GenerateRequest(model="overhead", messages=messages)

    def median_ms(fn: Callable[[], Any]) -> float:
        samples = []
        for _ in range(count):
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


# --- the run -------------------------------------------------------------------------
def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def _summary(
    http: list[dict[str, Any]], inproc: list[dict[str, Any]]
) -> dict[str, Any]:
    """Medians over rounds, and HTTP next to in-process from those medians."""
    keys = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")
    h = {k: _median(http, k) for k in keys}
    i = {k: _median(inproc, k) for k in keys}
    h_cpu, i_cpu = h["cpu_ms_per_request"], i["cpu_ms_per_request"]
    return {
        "http": h,
        "in_process": i,
        "rps_ratio": h["rps"] / i["rps"],
        "added_p50_ms": h["p50_ms"] - i["p50_ms"],
        "added_cpu_ms_per_request": h_cpu - i_cpu
        if h_cpu is not None and i_cpu is not None
        else None,
        "rounds": {"http": http, "in_process": inproc},
    }


def start_server(profile: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "qwen_router.bench.server",
        "--serve", str(profile), str(port), str(workers),
    ]  # fmt: skip
    return subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def run(
    levels: Sequence[int],
    *,
    seconds: float = 3.0,
    rounds: int = 3,
    workers: int = 1,
    client: str = "auto",
    stream: bool = False,
) -> dict[str, Any]:
    """Measure everything; return the report as a dict.

    Raises:
        RuntimeError: the server did not start, answered with an error, or the
            requested load generator is missing.
    """
    from qwen_router.core import Router

    if client == "wrk" and shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    use_wrk = client == "wrk" or (client == "auto" and shutil.which("wrk") is not None)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        profile, port = overhead_profile(Path(tmp)), free_port()
        url = f"http://127.0.0.1:{port}"
        load = WrkLoad(url, stream, Path(tmp)) if use_wrk else HttpxLoad(url, stream)
        child = start_server(profile, port, workers)
        router = Router(str(profile))
        try:
            wait_ready(url, child, workers)
            for c in levels:  # warm-up: connections, caches, lazy imports
                load(1, c)
                _inprocess(router, 0.5, c)
            http: dict[int, list[dict[str, Any]]] = {c: [] for c in levels}
            inproc: dict[int, list[dict[str, Any]]] = {c: [] for c in levels}
            sync: list[dict[str, Any]] = []
            for _ in range(rounds):
                for c in levels:
                    http[c].append(_http(load, child.pid, seconds, c))
                    inproc[c].append(_inprocess(router, seconds, c))
                sync.append(_sync(router, seconds))
            parts = _breakdown(router, 200)
        finally:
            stop_process(child, timeout_s=60)
            router.close()
    keys = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")
    return {
        "seconds_per_level": seconds,
        "rounds": rounds,
        "workers": workers,
        "client": load.name,
        "stream": stream,
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "levels": {c: _summary(http[c], inproc[c]) for c in levels},
        "in_process_invoke_1_client": {k: _median(sync, k) for k in keys},
        "breakdown": parts,
    }


def wait_ready(url: str, child: subprocess.Popen[bytes], workers: int) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("the benchmark server exited during start-up")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                if workers > 1:  # the first worker is up; give the others a moment
                    time.sleep(2.0)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the benchmark server did not become ready")


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _print(report: dict[str, Any]) -> None:
    load_a, load_b = report["loadavg_before"], report["loadavg_after"]
    print(
        f"server overhead: FakeBackend (instant, overhead-measuring fake); "
        f"{report['workers']} server worker(s), load from {report['client']}, "
        f"stream={report['stream']}; {report['cpus']} CPUs, load average "
        f"{load_a[0]:.2f} -> {load_b[0]:.2f}; median of {report['rounds']} rounds of "
        f"{report['seconds_per_level']:g}s per level"
    )
    print(
        f"{'clients':>7} | {'HTTP req/s':>10} {'p50':>7} {'p99':>7} {'cpu/req':>7} | "
        f"{'in-proc req/s':>13} {'p50':>7} {'p99':>7} {'cpu/req':>7} | "
        f"{'req/s ratio':>11} {'added p50':>9} {'added cpu':>9}"
    )
    for c, level in report["levels"].items():
        h, i = level["http"], level["in_process"]
        print(
            f"{c:>7} | {h['rps']:>10.0f} {h['p50_ms']:>7.2f} {h['p99_ms']:>7.2f} "
            f"{_fmt(h['cpu_ms_per_request']):>7} | {i['rps']:>13.0f} "
            f"{i['p50_ms']:>7.2f} {i['p99_ms']:>7.2f} "
            f"{_fmt(i['cpu_ms_per_request']):>7} | "
            f"{level['rps_ratio']:>11.2f} {level['added_p50_ms']:>9.2f} "
            f"{_fmt(level['added_cpu_ms_per_request']):>9}"
        )
    print("(milliseconds; cpu/req: server processes for HTTP, this process in-process)")
    s = report["in_process_invoke_1_client"]
    print(
        f"Router.invoke, 1 client: {s['rps']:.0f} req/s, p50 {s['p50_ms']:.2f} ms, "
        f"p99 {s['p99_ms']:.2f} ms, cpu/req {_fmt(s['cpu_ms_per_request'])} ms"
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
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="per level and round"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--stream", action="store_true", help="SSE streams instead of JSON"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--serve",
        nargs=3,
        metavar=("PROFILE", "PORT", "WORKERS"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
    report = run(
        args.concurrency,
        seconds=max(0.5, args.seconds),
        rounds=max(1, args.rounds),
        workers=max(1, args.workers),
        client=args.client,
        stream=args.stream,
    )
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

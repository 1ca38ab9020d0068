"""Backend benchmark: llama.cpp vs transformers, and transformers batching, in one run.

On the bundled SmolLM2-135M-Instruct (Q4_1 GGUF), with ``--threads`` CPU threads:

* load time: llama.cpp; transformers with the GGUF converted from scratch (an empty
  cache) and from the cached conversion. Each load runs in a fresh subprocess and
  reports the backend's own ``load_ms`` (imports excluded).
* single-stream tokens/s (greedy, completion tokens / generation time) through the
  ``llamacpp`` and ``gguf`` (transformers) backends.
* batching: ``--requests`` concurrent requests through the transformers backend
  without batching (they run one at a time: batch 1) and with batching (one padded
  batch of up to ``--batch`` rows); aggregate tokens/s and the ratio.

Medians over ``--runs`` (the uncached conversion runs once: it takes ~20 s).

    qwen-router bench backends [--threads 2] [--tokens 48] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from qwen_router.errors import RouterError

__all__ = ["main", "run"]

MODEL = "smollm2-135m-instruct"
STORY = "Write a long story about a lighthouse keeper and a storm."
PROMPTS = [
    STORY,
    "Explain how a bicycle works, step by step, in detail.",
    "List ten fruits and describe each one in a sentence.",
    "Tell me about the history of the printing press.",
    "Describe a day in the life of a cat who lives in Paris.",
    "What are the planets of the solar system? Describe each one.",
    "Write a letter to a friend about your summer holidays by the sea.",
    "Give me a recipe for pancakes, with every step explained.",
]

_LOAD_SNIPPET = """
import json, sys
kind, name, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "llamacpp":
    from qwen_router.backends.llamacpp import LlamaCppBackend
    loaded = LlamaCppBackend(n_threads=threads).load(name)
else:
    import torch
    torch.set_num_threads(threads)
    from qwen_router.backends.hf import HFBackend
    loaded = HFBackend(kind="gguf", device="cpu", dtype="float32").load(name)
print(json.dumps({"load_ms": loaded.load_ms}))
"""


def _load_ms(kind: str, gguf: str, threads: int, cache: str | None = None) -> float:
    env = dict(os.environ)
    if cache is not None:
        env["QWEN_ROUTER_CACHE"] = cache  # the child converts into an empty cache
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_SNIPPET, kind, gguf, str(threads)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(f"loading {kind}:{gguf} failed: {tail[0]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["load_ms"])


def _request(prompt: str, tokens: int) -> Any:
    from qwen_router.backends.base import GenerateRequest
    from qwen_router.types import GenerationParams, Message

    return GenerateRequest(
        model=MODEL,
        messages=[Message(role="user", content=prompt)],
        params=GenerationParams(max_tokens=tokens, temperature=0.0),
    )


def _tok_s(backend: Any, tokens: int) -> float:
    result = backend.generate(_request(STORY, tokens))
    return result.usage.completion_tokens / (result.generate_ms / 1000)


def _throughput(backend: Any, tokens: int, requests: int) -> float:
    """Aggregate completion tokens/s of ``requests`` concurrent requests."""
    results: list[Any] = [None] * requests
    barrier = threading.Barrier(requests + 1)

    def one(i: int) -> None:
        barrier.wait()
        results[i] = backend.generate(_request(PROMPTS[i % len(PROMPTS)], tokens))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(requests)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return sum(r.usage.completion_tokens for r in results) / elapsed


def _median(fn: Callable[[], float], runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def run(
    *,
    threads: int = 2,
    tokens: int = 48,
    runs: int = 3,
    requests: int = 8,
    batch: int = 8,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Measure everything; return a flat dict of medians (``None`` where skipped).

    Raises:
        RouterError: the bundled model cannot be fetched or loaded.
        RuntimeError: a load subprocess failed.
    """
    import torch
    from qwen_router.backends.bundled import ensure_gguf
    from qwen_router.backends.hf import HFBackend
    from qwen_router.backends.llamacpp import LlamaCppBackend, llama_cpp_available

    torch.set_num_threads(threads)
    gguf = str(ensure_gguf(MODEL))
    out: dict[str, Any] = {
        "model": MODEL,
        "threads": threads,
        "tokens": tokens,
        "runs": runs,
    }
    log("transformers load, uncached (GGUF conversion into an empty cache) ...")
    with tempfile.TemporaryDirectory(prefix="qwen-router-bench-") as empty:
        out["hf_load_uncached_s"] = _load_ms("gguf", gguf, threads, cache=empty) / 1000
    log("transformers load, cached ...")
    _load_ms("gguf", gguf, threads)  # make sure the user cache holds the conversion
    out["hf_load_cached_s"] = (
        _median(lambda: _load_ms("gguf", gguf, threads), runs) / 1000
    )
    out["llamacpp_load_s"] = out["llamacpp_tok_s"] = None
    if llama_cpp_available():
        log("llama.cpp load ...")
        out["llamacpp_load_s"] = (
            _median(lambda: _load_ms("llamacpp", gguf, threads), runs) / 1000
        )
        log("llama.cpp tokens/s ...")
        llama = LlamaCppBackend(n_threads=threads)
        llama.generate(_request("Hi", 4))  # warm-up
        out["llamacpp_tok_s"] = _median(lambda: _tok_s(llama, tokens), runs)
    log("transformers tokens/s ...")
    plain = HFBackend(kind="gguf", device="cpu", dtype="float32")
    plain.generate(_request("Hi", 4))
    out["hf_tok_s"] = _median(lambda: _tok_s(plain, tokens), runs)
    log(f"transformers, {requests} concurrent requests, no batching (batch 1) ...")
    out["requests"], out["batch"] = requests, batch
    out["batch1_tok_s"] = _median(lambda: _throughput(plain, tokens, requests), runs)
    log(f"transformers, {requests} requests, batching (max batch {batch}) ...")
    batched = HFBackend(
        kind="gguf", device="cpu", dtype="float32", batching=True,
        batch_window_ms=20, max_batch_size=batch,
    )  # fmt: skip
    batched.generate(_request("Hi", 4))
    out["batchN_tok_s"] = _median(lambda: _throughput(batched, tokens, requests), runs)
    out["batch_ratio"] = out["batchN_tok_s"] / out["batch1_tok_s"]
    if out["llamacpp_tok_s"]:
        out["llamacpp_vs_hf_tok_s"] = out["llamacpp_tok_s"] / out["hf_tok_s"]
    return out


def _fmt(value: Any, unit: str = "") -> str:
    return (
        "n/a (llama-cpp-python not installed)"
        if value is None
        else f"{value:.2f}{unit}"
    )


def _format(r: dict[str, Any]) -> str:
    lines = [
        f"backends benchmark: {r['model']} (Q4_1 GGUF), {r['threads']} threads, "
        f"greedy, {r['tokens']} max new tokens, medians of {r['runs']} runs",
        "",
        f"{'':34}{'llama.cpp':>14}{'transformers':>16}",
        f"{'load (uncached, converts GGUF)':34}{'-':>14}"
        f"{_fmt(r['hf_load_uncached_s'], ' s'):>16}",
        f"{'load (cached)':34}{_fmt(r['llamacpp_load_s'], ' s'):>14}"
        f"{_fmt(r['hf_load_cached_s'], ' s'):>16}",
        f"{'tokens/s (1 request)':34}{_fmt(r['llamacpp_tok_s']):>14}"
        f"{_fmt(r['hf_tok_s']):>16}",
    ]
    if r.get("llamacpp_vs_hf_tok_s"):
        lines.append(
            f"llama.cpp / transformers tokens/s: {r['llamacpp_vs_hf_tok_s']:.1f}x"
        )
    lines += [
        "",
        f"transformers, {r['requests']} concurrent requests (aggregate tokens/s):",
        f"  batch 1 (no batching)  {r['batch1_tok_s']:.2f}",
        f"  batch {r['batch']} (batching)     {r['batchN_tok_s']:.2f}",
        f"  ratio                  {r['batch_ratio']:.2f}x",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``qwen-router bench backends [--threads N] [--tokens N] [--runs N] [--json]``."""
    parser = argparse.ArgumentParser(
        prog="qwen-router bench backends", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="CPU threads (default 2)"
    )
    parser.add_argument(
        "--tokens", type=int, default=48, help="max new tokens per request"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per measurement (median)"
    )
    parser.add_argument("--requests", type=int, default=8, help="concurrent requests")
    parser.add_argument("--batch", type=int, default=8, help="max batch size")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)

    def log(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    try:
        report = run(
            threads=args.threads, tokens=args.tokens, runs=args.runs,
            requests=args.requests, batch=args.batch, log=log,
        )  # fmt: skip
    except (RouterError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else _format(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

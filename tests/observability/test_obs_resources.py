"""Per-call memory, throughput and queue figures: measured for real, on the tiny
in-process Qwen2, on the loopback Ollama server, and on real allocations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from qwen_router import Router
from qwen_router.backends.types import GenerateResult
from qwen_router.observability.throughput import measure_throughput
from qwen_router.types import Usage

from observability.conftest import write_profile

MiB = 1024 * 1024


_WINDOW_SCRIPT = """
import json, time
from qwen_router.observability.resources import ResourceSampler

MiB = 1024 * 1024

def touch(size):
    block = bytearray(size)
    for i in range(0, size, 4096):  # make every page resident
        block[i] = 1
    return block

sampler = ResourceSampler(interval_s=0.005)
window = sampler.open()
base = window.peak
kept = touch(48 * MiB)
spike = touch(96 * MiB)
deadline = time.monotonic() + 60
while window.peak < base + 128 * MiB and time.monotonic() < deadline:
    time.sleep(0.01)  # until the sampler has seen the spike
del spike
used = window.close()
again = window.close() is used
print(json.dumps({**used.__dict__, "after": sampler.rss(), "again": again}))
"""


def test_window_sees_growth_and_a_peak_that_was_freed() -> None:
    """In a fresh process, so no other test's memory comes and goes meanwhile."""
    out = subprocess.run(
        [sys.executable, "-c", _WINDOW_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    used = json.loads(out.splitlines()[-1])
    assert used["rss_delta_bytes"] >= 40 * MiB  # the 48 MiB kept
    # the 96 MiB spike is gone from RSS, not from the peak
    assert used["rss_peak_bytes"] >= used["after"] + 80 * MiB
    assert used["peak_source"] in ("sampled", "getrusage")
    assert used["cuda_peak_bytes"] is None  # torch was never imported
    assert used["again"]  # close() is idempotent


def test_throughput_split_server_measured_and_unknown() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=21)
    server = measure_throughput(
        GenerateResult(
            text="",
            usage=usage,
            generate_ms=1100.0,
            first_token_ms=400.0,
            prefill_ms=100.0,
            decode_ms=1000.0,
        )
    )
    assert server.throughput_source == "server"
    assert server.prefill_tokens_per_s == pytest.approx(1000.0)
    assert server.decode_tokens_per_s == pytest.approx(21.0)
    assert server.tokens_per_s == pytest.approx(21 / 1.1, rel=1e-3)
    measured = measure_throughput(
        GenerateResult(text="", usage=usage, generate_ms=2500.0, first_token_ms=500.0)
    )
    assert measured.throughput_source == "measured"
    assert measured.prefill_ms == 500.0 and measured.decode_ms == 2000.0
    assert measured.prefill_tokens_per_s == pytest.approx(200.0)
    assert measured.decode_tokens_per_s == pytest.approx(
        10.0
    )  # 20 tokens after the first
    unknown = measure_throughput(GenerateResult(text="", usage=Usage()))
    assert unknown.throughput_source is None
    assert unknown.timings() == {}


def test_in_process_call_reports_memory_and_throughput(hf_profile: Path) -> None:
    with Router(hf_profile) as router:
        result = router.invoke("Say something about the sea.", params={"max_tokens": 6})
    usage, t = result.usage, result.timings
    assert result.backend == "hf"
    assert usage.rss_peak_bytes is not None and usage.rss_peak_bytes > 10 * MiB
    assert usage.rss_delta_bytes is not None
    assert usage.cuda_peak_bytes is None  # CPU run: no GPU figure
    assert t.first_token_ms is not None and t.first_token_ms > 0
    assert t.throughput_source == "measured"
    assert t.prefill_ms == pytest.approx(t.first_token_ms, rel=1e-3)
    assert t.tokens_per_s is not None and t.tokens_per_s > 0
    assert t.prefill_tokens_per_s is not None and t.prefill_tokens_per_s > 0
    if usage.completion_tokens > 1:
        assert t.decode_tokens_per_s is not None and t.decode_tokens_per_s > 0
    summary = result.summary()
    assert summary["usage"]["rss_peak_bytes"] == usage.rss_peak_bytes
    assert summary["timings"]["tokens_per_s"] == t.tokens_per_s


def test_remote_call_uses_the_servers_split_and_no_memory(ollama_profile) -> None:
    with Router(ollama_profile()) as router:
        result = router.invoke("Say something about the sea.", params={"max_tokens": 6})
    assert result.backend == "ollama"
    assert result.usage.rss_peak_bytes is None  # the model's memory is not ours
    assert result.usage.cuda_peak_bytes is None
    t = result.timings
    assert t.throughput_source == "server"  # prompt_eval_duration / eval_duration
    assert t.prefill_ms is not None and t.decode_ms is not None
    assert t.first_token_ms is not None


def test_cuda_peak_on_a_gpu(tiny_qwen2: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    profile = write_profile(
        tmp_path / "gpu.yaml",
        f"hf:{tiny_qwen2}",
        "  hf: {device: cuda, dtype: float16}",
    )
    with Router(profile) as router:
        result = router.invoke("Say something about the sea.", params={"max_tokens": 6})
    assert result.usage.cuda_peak_bytes is not None
    assert result.usage.cuda_peak_bytes > 0
    assert result.usage.cuda_peak_bytes >= torch.cuda.memory_allocated() // 2

"""``/metrics`` histograms per call (TTFT, tokens/s, queue wait, memory), labelled by
route, backend and model only, with the label values bounded: 1,000 distinct model
names sent by clients leave the number of series unchanged."""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from server.conftest import serve
from support.ollama_server import OllamaTestServer, ServedModel

from observability.conftest import write_profile

NAMES = 1000
HISTOGRAMS = (
    "qwen_router_time_to_first_token_seconds",
    "qwen_router_prefill_tokens_per_second",
    "qwen_router_decode_tokens_per_second",
    "qwen_router_tokens_per_second",
    "qwen_router_queue_wait_seconds",
)


def _series(text: str) -> set[str]:
    return {
        line.split(" ")[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def _chat(client: httpx.Client, model: str, **extra: Any) -> httpx.Response:
    return client.post(
        "/v1/chat/completions",
        json={
            "model": model,
            "messages": [{"role": "user", "content": "Hi."}],
            "max_tokens": 1,
            **extra,
        },
    )


@pytest.fixture(scope="module")
def many_names(tiny_qwen2: Path) -> Any:
    """A loopback Ollama answering for 1,000 names (one tiny Qwen2 behind them all)."""
    models = {f"m{i}:tiny": ServedModel(str(tiny_qwen2)) for i in range(NAMES)}
    server = OllamaTestServer(models).start()
    yield server
    server.stop()


def test_histograms_and_bounded_series(
    many_names: OllamaTestServer, tmp_path: Path
) -> None:
    profile = write_profile(
        tmp_path / "p.yaml",
        "ollama:m0:tiny",
        f"  ollama: {{host: '{many_names.host}'}}",
    )
    with (
        serve(
            profile,
            allow_model_specs=True,
            model_spec_backends=["ollama"],
            backend_concurrency=8,
            queue_timeout_s=600,
        ) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        reply = _chat(client, "auto")
        assert reply.status_code == 200
        timings = reply.json()["qwen_router"]["timings"]
        assert {"first_token_ms", "queue_ms", "tokens_per_s"} <= set(timings)
        assert _chat(client, "ollama:m1:tiny").status_code == 200  # one client name
        before = _series(client.get("/metrics").text)
        for name in HISTOGRAMS:
            bucket = [s for s in before if s.startswith(name + "_bucket")]
            assert bucket, name
            labels = set(re.findall(r'(\w+)="', bucket[0])) - {"le"}
            assert labels == {"route", "backend", "model"}
        assert any('model="other"' in s and 'backend="ollama"' in s for s in before)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            codes = list(
                pool.map(
                    lambda i: _chat(client, f"ollama:m{i}:tiny").status_code,
                    range(2, NAMES),
                )
            )
        assert codes == [200] * (NAMES - 2)
        after = _series(client.get("/metrics").text)
        assert len(after) == len(before), sorted(after - before)[:10]
        assert not any(f"m{NAMES - 1}:tiny" in s for s in after)


def test_queue_wait_is_measured_at_the_gate(ollama: Any, ollama_profile: Any) -> None:
    """One slot, two requests at once: the second waits for the first (stalled 3 s)."""
    ollama.faults.stall_s = 3.0
    with (
        serve(ollama_profile(), backend_concurrency=1, queue_timeout_s=600) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda _: _chat(client, "auto"), range(2)))
        waits = sorted(r.json()["qwen_router"]["timings"]["queue_ms"] for r in replies)
        assert waits[0] >= 0 and waits[1] >= 1000  # most of the first's 3 s
        metrics = client.get("/metrics").text
    count = re.search(r"qwen_router_queue_wait_seconds_count\{[^}]*\} (\S+)", metrics)
    assert count is not None and float(count.group(1)) == 2.0


def test_series_cache_hands_back_the_series_that_labels_would() -> None:
    from prometheus_client import CollectorRegistry, Counter, generate_latest
    from qwen_router.observability.prometheus import SeriesCache

    registry = CollectorRegistry()
    counter = Counter("demo", "demo", ["route", "model"], registry=registry)
    series = SeriesCache(limit=3)
    series(counter, route="code", model="m").inc()
    series(counter, model="m", route="code").inc()  # same series, other keyword order
    series(counter, route="math", model="m").inc(5)
    code = counter.labels(route="code", model="m")
    assert series(counter, route="code", model="m") is code
    text = generate_latest(registry).decode()
    assert 'demo_total{model="m",route="code"} 2.0' in text
    assert 'demo_total{model="m",route="math"} 5.0' in text
    for n in range(5):  # past its limit the cache starts over; counts are kept
        series(counter, route=f"r{n}", model="m").inc()
    assert len(series) <= 3
    series(counter, route="code", model="m").inc()
    text = generate_latest(registry).decode()
    assert 'demo_total{model="m",route="code"} 3.0' in text


def test_the_servers_metrics_keep_one_series_cache() -> None:
    from qwen_router.server.metrics import Metrics

    metrics = Metrics()  # its cache is still empty (and so falsy) when it is shared
    assert metrics.calls.series is metrics.series

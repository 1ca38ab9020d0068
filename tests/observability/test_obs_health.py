"""Health levels: judged on a bounded window of recent calls against the profile's
thresholds; end to end through ``/health`` and ``qwen-router models --health`` with
the loopback Ollama server made slow, then failing, then well again."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from qwen_router.cli import main
from qwen_router.observability.health import CallSample, HealthMonitor, judge
from qwen_router.observability.thresholds import Ceiling, Floor, HealthThresholds
from server.conftest import serve


def _ok(
    latency: float = 0.1, rate: float | None = 50.0, rss: int | None = None
) -> CallSample:
    return CallSample(
        at=0.0, ok=True, latency_s=latency, tokens_per_s=rate, rss_peak_bytes=rss
    )


def _failed(error: str = "BackendUnavailable: refused") -> CallSample:
    return CallSample(at=0.0, ok=False, latency_s=0.01, error=error)


LIMITS = HealthThresholds(
    min_calls=2,
    p95_latency_s=Ceiling(degraded=1.0, unhealthy=10.0),
    tokens_per_s=Floor(degraded=5.0, unhealthy=1.0),
    rss_peak_mb=Ceiling(degraded=100.0, unhealthy=200.0),
    error_rate=Ceiling(degraded=0.25, unhealthy=0.5),
)


@pytest.mark.parametrize(
    ("samples", "cooldown", "level", "check"),
    [
        ([_ok(), _ok()], None, "healthy", None),
        ([_ok(2.0), _ok(2.0)], None, "degraded", "p95_latency"),
        ([_ok(20.0), _ok(0.1)], None, "unhealthy", "p95_latency"),
        ([_ok(rate=3.0), _ok(rate=3.0)], None, "degraded", "tokens_per_s"),
        ([_ok(rate=0.5), _ok(rate=0.5)], None, "unhealthy", "tokens_per_s"),
        ([_ok(rss=150 * 2**20), _ok()], None, "degraded", "rss_peak"),
        ([_ok(), _ok(), _ok(), _failed()], None, "degraded", "error_rate"),
        ([_ok(), _failed()], None, "unhealthy", "error_rate"),
        ([_failed()], None, "healthy", None),  # one call is too few to judge
        ([_failed()], 12.0, "unhealthy", "cooldown"),
        ([], None, "healthy", None),
    ],
)
def test_judge_levels(
    samples: list[CallSample], cooldown: float | None, level: str, check: str | None
) -> None:
    health = judge("ollama:qwen3:8b", samples, LIMITS, cooldown_s=cooldown)
    assert health.level == level
    assert health.backend == "ollama"
    if check is None:
        assert health.findings == [] and health.reason
    else:
        first = health.findings[0]
        assert first.check == check and first.level == level
        assert health.reason.startswith(first.reason) and health.recommendation
        if check in ("error_rate", "cooldown") and health.last_error:
            assert "last: BackendUnavailable" in health.reason


def test_monitor_window_is_bounded_in_calls_models_and_age() -> None:
    now = [100.0]
    monitor = HealthMonitor(
        HealthThresholds(window=3, max_models=2, max_age_s=60), clock=lambda: now[0]
    )
    for i in range(5):
        monitor.record("a:m", CallSample(at=now[0], ok=True, latency_s=float(i)))
    assert [s.latency_s for s in monitor.samples("a:m")] == [2.0, 3.0, 4.0]
    monitor.record("b:m", _ok())
    monitor.record("c:m", _ok())
    assert monitor.models() == ["b:m", "c:m"]  # least recently called dropped
    now[0] += 61
    assert monitor.samples("c:m") == []  # too old


def _ask(client: httpx.Client) -> int:
    reply = client.post(
        "/v1/chat/completions",
        json={
            "model": "auto",
            "messages": [{"role": "user", "content": "Say hi."}],
            "max_tokens": 4,
        },
    )
    return reply.status_code


def _model_health(client: httpx.Client) -> tuple[int, dict[str, Any], dict[str, Any]]:
    reply = client.get("/health")
    body = reply.json()
    (model,) = [m for m in body["models"] if m["backend"] == "ollama"]
    return reply.status_code, body, model


def test_health_degrades_fails_and_recovers(
    ollama: Any, ollama_profile: Any, capsys: Any
) -> None:
    profile = ollama_profile(
        health="{window: 3, min_calls: 1,"
        " p95_latency_s: {degraded: 3.0, unhealthy: 600},"
        " tokens_per_s: {degraded: null, unhealthy: null},"
        " error_rate: {degraded: 0.3, unhealthy: 0.6}}",
        retry="{max_retries: 0, failures_before_cooldown: 1000}",
    )
    with (
        serve(profile) as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
    ):
        status, body, model = _model_health(client)
        assert (status, model["level"], model["reason"]) == (
            200,
            "healthy",
            "no recent calls",
        )

        for _ in range(4):  # the first also loads the model: the window drops it
            assert _ask(client) == 200
        status, body, model = _model_health(client)
        assert (status, body["status"], model["level"]) == (
            200,
            "healthy",
            "healthy",
        ), model
        assert model["calls"] == 3 and model["error_rate"] == 0

        ollama.faults.stall_s = 3.5  # slow: every answer takes at least 3.5 s
        for _ in range(3):
            assert _ask(client) == 200
        status, body, model = _model_health(client)
        assert (status, body["status"], model["level"]) == (200, "degraded", "degraded")
        assert model["findings"][0]["check"] == "p95_latency"
        assert "p95 latency" in model["reason"] and model["p95_latency_s"] >= 3.5
        assert "concurrency" in model["recommendation"]

        ollama.faults.stall_s = 0.0
        ollama.faults.fail_status, ollama.faults.fail_count = 500, 10_000  # failing
        for _ in range(3):
            assert _ask(client) >= 500
        status, body, model = _model_health(client)
        assert (status, body["status"], model["level"]) == (
            503,
            "unhealthy",
            "unhealthy",
        )
        assert model["findings"][0]["check"] == "error_rate"
        assert "error rate 1" in model["reason"] and "last: " in model["reason"]
        assert "reachable" in model["recommendation"]

        assert main(["models", "--health", "--url", server.url]) == 1  # same report
        printed = capsys.readouterr().out
        assert "status: unhealthy" in printed and "error rate" in printed
        assert main(["models", "--health", "--url", server.url, "--json"]) == 1
        assert json.loads(capsys.readouterr().out)["status"] == "unhealthy"

        ollama.faults.fail_status, ollama.faults.fail_count = None, 0  # fault gone
        for _ in range(3):
            assert _ask(client) == 200
        status, body, model = _model_health(client)
        assert (status, body["status"], model["level"]) == (200, "healthy", "healthy")


def test_models_health_probes_here(hf_profile: Any, capsys: Any) -> None:
    assert main(["models", "--health", "--profile", str(hf_profile), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "healthy"
    (model,) = report["models"]
    assert model["calls"] == 1 and model["errors"] == 0
    assert model["rss_peak_mb"] > 0  # in-process: memory measured
    assert sorted(model["routes"]) == [
        "code",
        "general",
        "math",
        "multilingual",
        "vision",
    ]

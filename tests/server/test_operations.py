"""Health, readiness, metrics, request ids, structured logs, classify-once."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import openai
import pytest
from qwen_router.server.logs import ACCESS_LOGGER

SECRET = "the secret prompt text 42"


def oai(server: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60
    )


def test_healthz_and_readyz(fake_server: Any) -> None:
    with fake_server() as server:
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert {row["route"] for row in ready.json()["routes"]} >= {"general", "math"}


def test_readyz_reports_missing_models(tiny_profile_yaml: Any, tmp_path: Any) -> None:
    from .conftest import serve

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        tiny_profile_yaml.read_text(encoding="utf-8").replace(
            "model: hf:", "model: hf:/nonexistent", 1
        ),
        encoding="utf-8",
    )
    with serve(broken) as server:
        ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "not ready"


def test_metrics_count_requests_tokens_stages_and_errors(fake_server: Any) -> None:
    with fake_server() as server:
        c = oai(server)
        c.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi"}]
        )
        list(
            c.chat.completions.create(
                model="auto:code",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
            )
        )
        with pytest.raises(openai.NotFoundError):
            c.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "x"}]
            )
        text = httpx.get(server.url + "/metrics").text
    assert (
        'qwen_router_requests_total{api="openai",model="fake:scripted",'
        'route="code",stream="true"} 1.0' in text
    )
    assert 'qwen_router_tokens_total{kind="completion"' in text
    assert "qwen_router_classifier_stage_total" in text
    assert (
        'qwen_router_request_errors_total{api="openai",model="",route="",'
        'status="404"} 1.0' in text
    )
    assert "qwen_router_request_latency_seconds_bucket" in text


def test_request_id_and_hashed_log_line(
    fake_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with fake_server() as server:
        raw = oai(server).chat.completions.with_raw_response.create(
            model="auto",
            messages=[{"role": "user", "content": SECRET}],
            extra_headers={"X-Request-ID": "req-123"},
        )
    assert raw.headers["x-request-id"] == "req-123"
    assert raw.parse().model_extra["qwen_router"]["request_id"] == "req-123"
    lines = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER
    ]
    line = next(x for x in lines if x.get("request_id") == "req-123")
    assert line["status"] == 200 and line["route"] and line["model"] == "fake:scripted"
    assert len(line["body_sha256"]) == 16
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_classifier_runs_once_per_request(fake_server: Any) -> None:
    """The server classifies while planning; the graph reuses that decision."""
    with fake_server() as server:
        classifier = server.app.state.service.router.classifier
        calls: list[str] = []
        classify, aclassify = classifier.classify, classifier.aclassify

        def counting(messages: Any, **options: Any) -> Any:
            calls.append("sync")
            return classify(messages, **options)

        async def acounting(messages: Any, **options: Any) -> Any:
            calls.append("async")
            return await aclassify(messages, **options)

        classifier.classify, classifier.aclassify = counting, acounting
        c = oai(server)
        c.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi"}]
        )
        list(
            c.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    assert len(calls) == 2


def test_policy_decides_once_per_request(
    fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's plan (route, models, sampling) is the one the graph runs: the
    graph does not run the policy again, for plain and streamed requests."""
    from qwen_router.graph import planning
    from qwen_router.server import service

    calls: list[str] = []
    for module in (planning, service):
        real = module.decide

        def counting(*args: Any, _real: Any = real, _at: str = module.__name__, **kw: Any) -> Any:
            calls.append(_at)
            return _real(*args, **kw)

        monkeypatch.setattr(module, "decide", counting)
    with fake_server() as server:
        c = oai(server)
        reply = c.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi"}]
        )
        list(
            c.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    assert calls == ["qwen_router.server.service"] * 2
    assert reply.choices[0].message.content


def test_openapi_schema_lists_both_apis(fake_server: Any) -> None:
    with fake_server() as server:
        paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {
        "/v1/chat/completions",
        "/v1/models",
        "/api/chat",
        "/api/generate",
        "/api/tags",
        "/api/show",
        "/api/version",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(paths)

"""OpenTelemetry spans, read back from the SDK's InMemorySpanExporter: one request
gives a tree with a span per graph node and per backend call, GenAI attributes, and
no prompt or answer text unless the operator opts in."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from qwen_router import Router
from qwen_router.backends.fake import FakeBackend
from qwen_router.errors import RouterError
from qwen_router.observability import tracing

PROMPT = "Describe the colour of a calm evening sea."


def _tree(exporter: Any) -> tuple[Any, dict[str, list[Any]], dict[int, Any]]:
    finished = exporter.get_finished_spans()
    roots = [s for s in finished if s.name == "qwen_router.request"]
    assert len(roots) == 1, [s.name for s in finished]
    root = roots[0]
    assert root.parent is None
    by_id = {s.context.span_id: s for s in finished}
    children: dict[str, list[Any]] = {}
    for span in finished:
        assert span.context.trace_id == root.context.trace_id
        if span.parent is not None:
            children.setdefault(by_id[span.parent.span_id].name, []).append(span)
    return root, children, by_id


def _no_content(exporter: Any, *texts: str) -> None:
    for span in exporter.get_finished_spans():
        values = [str(v) for v in span.attributes.values()]
        values += [str(v) for e in span.events for v in e.attributes.values()]
        for text in texts:
            if text.strip():
                assert all(text not in v for v in values), (span.name, text)


def test_off_without_a_provider_costs_nothing() -> None:
    assert tracing.tracer() is None  # the API's default proxy provider: no-op
    assert tracing.node_span("plan") is tracing.node_span("generate")  # shared null
    assert tracing.backend_span(None, None, None) is None


def test_one_request_makes_a_span_tree(spans: Any, hf_profile: Path) -> None:
    with Router(hf_profile) as router:
        result = router.invoke(PROMPT, params={"max_tokens": 6})
    root, children, _ = _tree(spans)
    nodes = sorted(s.name for s in children["qwen_router.request"])
    assert nodes == ["qwen_router.generate", "qwen_router.plan", "qwen_router.respond"]
    calls = children["qwen_router.generate"]
    assert [c.name for c in calls] == [f"chat {result.model.split(':', 1)[1]}"]
    call = calls[0].attributes
    assert call["gen_ai.operation.name"] == "chat"
    assert call["gen_ai.system"] == "hf"
    assert call["gen_ai.request.model"] == result.model.split(":", 1)[1]
    assert call["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert call["gen_ai.usage.output_tokens"] == result.usage.completion_tokens
    assert call["gen_ai.request.max_tokens"] == 6
    assert call["qwen_router.rss_peak_bytes"] == result.usage.rss_peak_bytes
    assert root.attributes["gen_ai.response.model"] == result.model
    assert root.attributes["qwen_router.route"] == result.route
    plan = next(
        s for s in children["qwen_router.request"] if s.name == "qwen_router.plan"
    )
    assert plan.attributes["qwen_router.route"] == result.route
    assert plan.attributes["qwen_router.stage"] == result.decision.stage
    assert plan.attributes["qwen_router.repairs"] == 0
    assert {e.name for e in plan.events} >= {"classify"}
    _no_content(spans, PROMPT, result.answer)


def test_repair_passes_and_every_backend_call_have_spans(
    spans: Any, tmp_path: Path
) -> None:
    """A scripted wrong-then-right math answer (fault injection) takes a repair pass."""
    replies = iter(["The answer is \\boxed{5}.", "The answer is \\boxed{4}."])
    fake = FakeBackend(reply=lambda _req: next(replies))
    profile = tmp_path / "math.yaml"
    profile.write_text(
        "name: m\nroutes:\n  general: {model: 'fake:m'}\n"
        "  math: {model: 'fake:m', verifiers: [math], max_repairs: 1}\n",
        encoding="utf-8",
    )
    with Router(profile, backends={"fake": fake}) as router:
        result = router.invoke("What is 2+2?", route="math")
    assert result.repairs == 1
    _, children, _ = _tree(spans)
    names = sorted(s.name for s in children["qwen_router.request"])
    assert names.count("qwen_router.generate") == 2
    assert names.count("qwen_router.verify") == 2
    assert names.count("qwen_router.repair") == 1
    assert len(children["qwen_router.generate"]) == 2  # one backend call per pass


def test_streams_async_and_failures(spans: Any, tmp_path: Path) -> None:
    profile = tmp_path / "f.yaml"
    profile.write_text(
        "name: f\nretry: {max_retries: 0}\nroutes:\n  general: {model: 'fake:ok'}\n",
        encoding="utf-8",
    )
    fake = FakeBackend(reply="fine", fail_on="broken", fail_with="unavailable")

    async def run(router: Router) -> None:
        async for _ in router.astream(PROMPT):
            pass

    with Router(profile, backends={"fake": fake}) as router:
        list(router.stream(PROMPT))
        _tree(spans)
        spans.clear()
        asyncio.run(run(router))
        _tree(spans)
        spans.clear()
        with pytest.raises(RouterError):
            router.invoke("this one is broken")
    root, children, _ = _tree(spans)
    assert root.status.status_code.name == "ERROR"
    call = children["qwen_router.generate"][0]
    assert call.status.status_code.name == "ERROR"
    assert call.attributes["error.type"] == "BackendUnavailable"


def test_content_only_when_opted_in(spans: Any, tmp_path: Path) -> None:
    profile = tmp_path / "c.yaml"
    profile.write_text(
        "name: c\nroutes:\n  general: {model: 'fake:c'}\n", encoding="utf-8"
    )
    tracing.set_capture_content(True)
    with Router(
        profile, backends={"fake": FakeBackend(reply="calm and grey")}
    ) as router:
        router.invoke(PROMPT)
    _, children, _ = _tree(spans)
    call = children["qwen_router.generate"][0].attributes
    assert (
        PROMPT in json.loads(call["gen_ai.input.messages"])[-1]["parts"][0]["content"]
    )
    assert "calm and grey" in call["gen_ai.output.messages"]


def test_configured_from_otel_environment(hf_profile: Path) -> None:
    """``OTEL_TRACES_EXPORTER=console``: the SDK's console exporter prints the spans."""
    pytest.importorskip("opentelemetry.sdk.trace")
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "qr-test",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qwen_router.cli",
            "ask",
            PROMPT,
            "--profile",
            str(hf_profile),
            "--max-tokens",
            "4",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    assert '"name": "qwen_router.request"' in out
    assert '"gen_ai.operation.name": "chat"' in out
    assert '"service.name": "qr-test"' in out
    assert PROMPT not in out  # neither the spans nor the answer's JSON carry it


def test_an_answer_only_run_keeps_its_steps_while_spans_record(
    spans: Any, tmp_path: Path
) -> None:
    """The server asks for answer-only runs (no trace steps); a node's span carries an
    event per step, so under a tracer the steps are still made."""
    from qwen_router.graph.planning import ANSWER_ONLY

    profile = tmp_path / "a.yaml"
    profile.write_text("name: a\nroutes:\n  general: {model: 'fake:a'}\n", encoding="utf-8")
    with Router(profile, backends={"fake": FakeBackend(reply="calm")}) as router:
        result = router.invoke(PROMPT, {"configurable": {ANSWER_ONLY: True}})
    assert [e.node for e in result.trace][:4] == ["guard", "classify", "select", "render"]
    _, children, _ = _tree(spans)
    plan = next(s for s in children["qwen_router.request"] if s.name == "qwen_router.plan")
    assert [e.name for e in plan.events] == ["guard", "classify", "select", "render"]

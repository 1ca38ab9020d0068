"""The Grafana dashboard (dashboards/qwen-router.json) only queries metrics that the
server exports, by labels those metrics have."""

from __future__ import annotations

import json
import re
from pathlib import Path

from qwen_router.server.metrics import Metrics
from qwen_router.types import RouteDecision, RouteResult, Timings, Usage

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "qwen-router.json"


def _exported() -> dict[str, set[str]]:
    metrics = Metrics()
    metrics.known_models, metrics.known_routes = {"hf:tiny"}, {"general"}
    result = RouteResult(
        answer="x",
        decision=RouteDecision(route="general", confidence=1.0),
        model="hf:tiny",
        backend="hf",
        usage=Usage(
            prompt_tokens=3,
            completion_tokens=2,
            rss_peak_bytes=2**30,
            rss_delta_bytes=2**25,
            cuda_peak_bytes=2**31,
        ),
        timings=Timings(
            first_token_ms=5,
            prefill_tokens_per_s=100,
            decode_tokens_per_s=20,
            tokens_per_s=18,
            queue_ms=1,
            total_ms=50,
        ),
        repairs=1,
    )
    metrics.result("openai", result, seconds=0.05, planned="hf:other", stream=False)
    metrics.error("openai", 500, route="general", model="hf:tiny")
    metrics.reject("overloaded")
    metrics.stage("rules")
    metrics.in_flight.labels(backend="hf").inc()
    metrics.queued.labels(backend="hf").inc()
    series: dict[str, set[str]] = {}
    for line in metrics.render().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            series.setdefault(name.split(" ")[0], set()).update(
                re.findall(r"(\w+)=", rest)
            )
    return series


def test_every_panel_queries_exported_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exported = _exported()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 10 and exprs
    for expr in exprs:
        for metric in re.findall(r"\bqwen_router_\w+", expr):
            assert metric in exported, (metric, expr)
            selector = re.search(re.escape(metric) + r"\{([^}]*)\}", expr)
            labels = (
                set(re.findall(r"(\w+)=~?", selector.group(1))) if selector else set()
            )
            grouped = set()
            for by in re.findall(r"by \(([^)]*)\)", expr):
                grouped |= {x.strip() for x in by.split(",")}
            assert labels <= exported[metric], (metric, labels)
            assert grouped - {"le"} <= exported[metric] | {"le"}, (metric, grouped)

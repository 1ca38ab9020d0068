"""Prometheus metrics for one app, in its own registry (so tests can run many apps).

Counters and histograms are labelled by API, route and model; ``GET /metrics``
renders them in the text exposition format.

Label values are bounded: a model or route the profile does not name (a client-chosen
spec, a bogus name in a refused request) is counted as ``other``, so no client can
grow the number of series.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from qwen_router.observability.prometheus import CallHistograms, SeriesCache
from qwen_router.types import RouteResult

__all__ = ["CONTENT_TYPE", "OTHER", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The server's metrics; every method is cheap.

    Raises:
        Nothing: recording a metric never fails a request.
    """

    def __init__(self) -> None:
        self.known_models: set[str] = set()
        self.known_routes: set[str] = set()
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "qwen_router_requests",
            "Completed chat requests.",
            ["api", "route", "model", "stream"],
            registry=r,
        )
        self.errors = Counter(
            "qwen_router_request_errors",
            "Requests answered with an error.",
            ["api", "route", "model", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "qwen_router_request_latency_seconds",
            "Time from request to last byte.",
            ["api", "route", "model"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "qwen_router_tokens",
            "Tokens processed.",
            ["route", "model", "kind"],
            registry=r,
        )
        self.fallbacks = Counter(
            "qwen_router_fallbacks",
            "Requests answered by a fallback model.",
            ["route", "planned", "model"],
            registry=r,
        )
        self.stages = Counter(
            "qwen_router_classifier_stage",
            "Classifier stage that decided the route.",
            ["stage"],
            registry=r,
        )
        self.repairs = Counter(
            "qwen_router_repairs",
            "Verifier-triggered repair passes.",
            ["route"],
            registry=r,
        )
        self.rejected = Counter(
            "qwen_router_rejected",
            "Requests refused before running.",
            ["reason"],
            registry=r,
        )
        self.in_flight = Gauge(
            "qwen_router_in_flight",
            "Requests running per backend.",
            ["backend"],
            registry=r,
        )
        self.queued = Gauge(
            "qwen_router_queued",
            "Requests waiting for a backend slot.",
            ["backend"],
            registry=r,
        )
        self.series = SeriesCache()  # every labelled series of this registry
        # TTFT, tokens/s, queue wait, memory per answered request (observability)
        self.calls = CallHistograms(r, self.series)

    def model_label(self, model: str) -> str:
        """``model`` when the profile names it (or it is empty), else ``other``."""
        return model if not model or model in self.known_models else OTHER

    def route_label(self, route: str) -> str:
        return route if not route or route in self.known_routes else OTHER

    def stage(self, stage: str) -> None:
        self.series(self.stages, stage=stage).inc()

    def result(
        self,
        api: str,
        result: RouteResult,
        *,
        seconds: float,
        planned: str,
        stream: bool,
    ) -> None:
        """Count one answered request."""
        route, model = self.route_label(result.route), self.model_label(result.model)
        planned = self.model_label(planned)
        self.series(
            self.requests, api=api, route=route, model=model, stream=str(stream).lower()
        ).inc()
        self.series(self.latency, api=api, route=route, model=model).observe(seconds)
        usage = result.usage
        for kind, value in (
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
            ("thinking", usage.thinking_tokens),
        ):
            if value:
                self.series(self.tokens, route=route, model=model, kind=kind).inc(value)
        if model != planned:
            self.series(self.fallbacks, route=route, planned=planned, model=model).inc()
        if result.repairs:
            self.series(self.repairs, route=route).inc(result.repairs)
        self.calls.observe(result, route=route, model=model)

    def error(self, api: str, status: int, *, route: str = "", model: str = "") -> None:
        self.series(
            self.errors,
            api=api,
            route=self.route_label(route),
            model=self.model_label(model),
            status=str(status),
        ).inc()

    def reject(self, reason: str) -> None:
        self.series(self.rejected, reason=reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

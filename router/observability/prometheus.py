"""The per-call histograms of ``/metrics``: time to first token, tokens/s (prefill,
decode, overall), queue wait, RSS and CUDA peak memory.

Labels are ``route``, ``backend`` and ``model`` only. The caller passes route and
model already bounded (the server's ``Metrics.route_label`` / ``model_label``: anything
the profile does not name is ``other``); the backend is one of the registry's names,
else ``other``. So the number of series does not grow with the names clients send.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from qwen_router.backends.registry import backend_names
from qwen_router.types import RouteResult

__all__ = ["CallHistograms", "SeriesCache"]

_LABELS = ("route", "backend", "model")
_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_QUEUE = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_RATE = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
_BYTES = tuple(float(2**n) for n in range(24, 38))  # 16 MiB .. 128 GiB


class SeriesCache:
    """A metric's labelled series, looked up once per label set.

    ``prometheus_client``'s ``labels()`` checks the names and takes a lock on every
    call (about 2 us, a dozen times per request); label values here are bounded, so a
    server only ever uses a few series. Past ``limit`` entries the cache starts over.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._series: dict[tuple[Any, ...], Any] = {}
        self.limit = limit

    def __call__(self, metric: Any, **labels: str) -> Any:
        key = (id(metric), *labels.items())
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= self.limit:
                self._series.clear()
            series = self._series[key] = metric.labels(**labels)
        return series

    def __len__(self) -> int:
        return len(self._series)


class CallHistograms:
    """Observe one answered request's timings and memory."""

    def __init__(
        self, registry: CollectorRegistry, series: SeriesCache | None = None
    ) -> None:
        self._backends: frozenset[str] | None = None
        # the caller's cache (an empty one is falsy: it has a length)
        self.series = series if series is not None else SeriesCache()

        def hist(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, _LABELS, buckets=buckets, registry=registry)

        self.ttft = hist(
            "qwen_router_time_to_first_token_seconds",
            "Time from the model call to its first token.",
            _SECONDS,
        )
        self.prefill = hist(
            "qwen_router_prefill_tokens_per_second",
            "Prompt tokens per second (server-reported, else prompt over TTFT).",
            _RATE,
        )
        self.decode = hist(
            "qwen_router_decode_tokens_per_second",
            "Generated tokens per second after the first token.",
            _RATE,
        )
        self.overall = hist(
            "qwen_router_tokens_per_second",
            "Completion tokens over the whole generation time.",
            _RATE,
        )
        self.queue = hist(
            "qwen_router_queue_wait_seconds",
            "Time waiting for a backend slot (the server's concurrency gate).",
            _QUEUE,
        )
        self.rss_peak = hist(
            "qwen_router_rss_peak_bytes",
            "Peak process RSS during the call (in-process backends).",
            _BYTES,
        )
        self.rss_growth = hist(
            "qwen_router_rss_growth_bytes",
            "RSS growth over the call, when it grew (in-process backends).",
            _BYTES,
        )
        self.cuda_peak = hist(
            "qwen_router_cuda_peak_bytes",
            "Peak CUDA memory allocated during the call (when a GPU is used).",
            _BYTES,
        )

    def backend_label(self, backend: str) -> str:
        if self._backends is None:
            self._backends = frozenset(backend_names())
        return backend if backend in self._backends else "other"

    def observe(self, result: RouteResult, *, route: str, model: str) -> None:
        """Record ``result``; ``route`` and ``model`` are already-bounded labels."""
        labels = {
            "route": route,
            "backend": self.backend_label(result.backend),
            "model": model,
        }
        t, usage = result.timings, result.usage
        self.series(self.queue, **labels).observe(t.queue_ms / 1000)
        for hist, value in (
            (self.ttft, None if t.first_token_ms is None else t.first_token_ms / 1000),
            (self.prefill, t.prefill_tokens_per_s),
            (self.decode, t.decode_tokens_per_s),
            (self.overall, t.tokens_per_s),
            (self.rss_peak, usage.rss_peak_bytes),
            (self.cuda_peak, usage.cuda_peak_bytes),
        ):
            if value is not None:
                self.series(hist, **labels).observe(value)
        if usage.rss_delta_bytes is not None and usage.rss_delta_bytes > 0:
            self.series(self.rss_growth, **labels).observe(usage.rss_delta_bytes)

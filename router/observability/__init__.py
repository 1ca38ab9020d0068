"""Observability: per-call resources and throughput, health levels, OpenTelemetry.

* :mod:`.resources` — RSS delta/peak and CUDA peak over one call;
* :mod:`.throughput` — tokens/s, prefill and decode;
* :mod:`.calls` — :class:`~.calls.CallObserver`, which the dispatcher runs every
  backend call through (span, resources, throughput, health sample);
* :mod:`.health` / :mod:`.report` — levels from recent calls against the profile's
  ``health:`` thresholds (:mod:`.thresholds`);
* :mod:`.tracing` — spans per request, node and backend call (``otel`` extra);
* :mod:`.prometheus` — the per-call histograms of ``/metrics`` (``server`` extra).

Importing this package imports nothing heavy (no OpenTelemetry, psutil or torch).
"""

from __future__ import annotations

from .otel_setup import configure_tracing
from .thresholds import Ceiling, Floor, HealthThresholds
from .tracing import use_tracer_provider

__all__ = [
    "Ceiling",
    "Floor",
    "HealthThresholds",
    "configure_tracing",
    "use_tracer_provider",
]

"""Tracing set-up for applications (``qwen-router serve`` / ``ask``): the SDK's tracer
provider with the exporters ``OTEL_TRACES_EXPORTER`` names; the SDK itself reads
``OTEL_EXPORTER_OTLP_*``, ``OTEL_BSP_*``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``...
A program that already installed a provider keeps it. Libraries need none of this:
qwen-router's spans go to whatever provider is in place (:mod:`.tracing`).
"""

from __future__ import annotations

import logging
from typing import Any

from .tracing import set_capture_content, trace_api

__all__ = ["configure_tracing", "configure_tracing_from"]

log = logging.getLogger("qwen_router.observability")


# --- applications ------------------------------------------------------------------
def configure_tracing(
    *,
    exporter: str | None,
    protocol: str | None = None,
    service_name: str | None = None,
    disabled: bool = False,
    content: bool = False,
) -> bool:
    """Install the SDK's tracer provider with the exporters ``exporter`` names
    (``OTEL_TRACES_EXPORTER``: ``otlp``, ``console``, comma-separated); return whether
    spans are now recorded.

    Does nothing (returns False) when ``exporter`` is unset or ``none``, when
    ``disabled`` (``OTEL_SDK_DISABLED``), or when the ``otel`` extra is not installed
    (logged). A provider the program installed itself is kept.

    Raises:
        ConfigError: ``exporter`` names an exporter that is not installed.
    """
    set_capture_content(content)
    names = [n.strip() for n in (exporter or "").split(",") if n.strip()]
    if disabled or not names or names == ["none"]:
        return False
    trace = trace_api()
    if trace and not isinstance(
        trace.get_tracer_provider(),
        (trace.ProxyTracerProvider, trace.NoOpTracerProvider),
    ):
        return True
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_TRACES_EXPORTER is set but the OpenTelemetry SDK is not installed: "
            "pip install 'qwen-router[otel]'"
        )
        return False
    exporters = [_exporter(name, protocol) for name in names if name != "none"]
    resource = Resource.create({} if service_name else {"service.name": "qwen-router"})
    provider = TracerProvider(resource=resource)
    for found in exporters:
        provider.add_span_processor(BatchSpanProcessor(found))
    trace.set_tracer_provider(provider)
    return True


def configure_tracing_from(settings: Any) -> bool:
    """:func:`configure_tracing` with the ``otel_*`` fields of
    :class:`~qwen_router.settings.Settings` (the standard ``OTEL_*`` variables).

    Raises:
        ConfigError: as :func:`configure_tracing`.
    """
    return configure_tracing(
        exporter=settings.otel_traces_exporter,
        protocol=settings.otel_exporter_otlp_protocol,
        service_name=settings.otel_service_name,
        disabled=settings.otel_sdk_disabled,
        content=settings.otel_capture_content,
    )


def _exporter(name: str, protocol: str | None) -> Any:
    from importlib.metadata import entry_points

    from qwen_router.errors import ConfigError

    if name == "otlp":  # the spec's name; the SDK registers one per protocol
        name = (
            "otlp_proto_grpc"
            if (protocol or "").strip() == "grpc"
            else "otlp_proto_http"
        )
    for entry in entry_points(group="opentelemetry_traces_exporter"):
        if entry.name == name:
            return entry.load()()
    raise ConfigError(
        f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed",
        hint="pip install 'qwen-router[otel]' (OTLP over HTTP), or the exporter's "
        "package",
    )

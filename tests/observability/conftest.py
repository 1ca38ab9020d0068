"""Fixtures for the observability tests: an in-memory OpenTelemetry exporter, a
loopback Ollama server (tiny real Qwen2 behind it, fault knobs on) and profiles that
route to it or to the in-process tiny Qwen2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.ollama_server import OllamaTestServer, ServedModel

OLLAMA_MODEL = "qwen2.5:tiny"


@pytest.fixture
def spans() -> Iterator[Any]:
    """The SDK's InMemorySpanExporter, receiving every span qwen-router records."""
    pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )
    from qwen_router.observability.tracing import (
        set_capture_content,
        use_tracer_provider,
    )

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        use_tracer_provider(None)
        set_capture_content(False)
        provider.shutdown()


@pytest.fixture(scope="session")
def _ollama(tiny_qwen2: Path) -> Iterator[OllamaTestServer]:
    server = OllamaTestServer(
        {OLLAMA_MODEL: ServedModel(str(tiny_qwen2), "qwen2", ["completion"])}
    ).start()
    yield server
    server.stop()


@pytest.fixture
def ollama(_ollama: OllamaTestServer) -> Iterator[OllamaTestServer]:
    """The shared server with faults cleared (before and after the test)."""
    yield _ollama.fresh()
    _ollama.fresh()


def write_profile(
    path: Path, model: str, backends: str, *, health: str = "", retry: str = ""
) -> Path:
    """Every route on ``model``; ``health`` / ``retry``: YAML flow mappings."""
    routes = "\n".join(
        f"  {name}:\n    model: {model}\n    template: {name}\n"
        f"    params: {{max_tokens: 8, temperature: 0.0}}"
        for name in ("general", "code", "math", "vision", "multilingual")
    )
    text = f"name: obs\nbackends:\n{backends}\nroutes:\n{routes}\n"
    text += f"retry: {retry or '{max_retries: 0}'}\n"
    if health:
        text += f"health: {health}\n"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ollama_profile(ollama: OllamaTestServer, tmp_path: Path) -> Any:
    """``ollama_profile(health=..., retry=...)``: a profile on the loopback Ollama."""

    def make(**options: str) -> Path:
        return write_profile(
            tmp_path / "ollama.yaml",
            f"ollama:{OLLAMA_MODEL}",
            f"  ollama: {{host: '{ollama.host}'}}",
            **options,
        )

    return make


@pytest.fixture(scope="session")
def hf_profile(tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every route on the in-process tiny Qwen2 (transformers, CPU)."""
    return write_profile(
        tmp_path_factory.mktemp("obs") / "hf.yaml",
        f"hf:{tiny_qwen2}",
        "  hf: {device: cpu, dtype: float32}",
    )

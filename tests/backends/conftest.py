"""Fixtures for backend tests: loopback Ollama and OpenAI-compatible servers on the
tiny Qwen models (``tiny_qwen2`` / ``tiny_qwen3`` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.loopback import free_port
from support.ollama_server import OllamaTestServer, ServedModel
from support.openai_server import OpenAITestServer
from support.openai_server import ServedModel as OpenAIModel


@pytest.fixture(scope="session")
def ollama_models(tiny_qwen2: Path, tiny_qwen3: Path) -> dict[str, ServedModel]:
    return {
        "qwen2.5:tiny": ServedModel(str(tiny_qwen2), "qwen2", ["completion"]),
        "qwen2.5vl:tiny": ServedModel(
            str(tiny_qwen2), "qwen25vl", ["completion", "vision"]
        ),
        "qwen3:tiny": ServedModel(str(tiny_qwen3), "qwen3", ["completion", "thinking"]),
    }


@pytest.fixture(scope="session")
def _session_server(
    ollama_models: dict[str, ServedModel],
) -> Iterator[OllamaTestServer]:
    server = OllamaTestServer(ollama_models).start()
    yield server
    server.stop()


@pytest.fixture
def ollama_server(_session_server: OllamaTestServer) -> Iterator[OllamaTestServer]:
    """The shared server, with faults cleared; restarted if a test stopped it."""
    yield _session_server.fresh()
    _session_server.fresh()


@pytest.fixture(scope="session")
def _openai_session(tiny_qwen2: Path, tiny_qwen3: Path) -> Iterator[OpenAITestServer]:
    models = {
        "qwen2.5-tiny": OpenAIModel(str(tiny_qwen2)),
        "qwen3-tiny": OpenAIModel(str(tiny_qwen3), thinking=True),
    }
    server = OpenAITestServer(models).start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(_openai_session: OpenAITestServer) -> Iterator[OpenAITestServer]:
    """The shared vLLM-like server (``qwen2.5-tiny``, ``qwen3-tiny`` thinking), with
    faults and records cleared; restarted if a test stopped it. The reset after the
    test wakes a stalled handler."""
    yield _openai_session.fresh()
    _openai_session.fresh()


@pytest.fixture
def dead_host() -> str:
    """A loopback address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"

"""Fixtures for backend tests: a loopback Ollama server on the tiny Qwen models
(``tiny_qwen2`` / ``tiny_qwen3`` come from tests/conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ollama_server.py

from ollama_server import OllamaTestServer, ServedModel  # noqa: E402


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
    _session_server.reset()
    if not _session_server.running:
        _session_server.start()
    yield _session_server
    _session_server.reset()
    if not _session_server.running:
        _session_server.start()


@pytest.fixture
def dead_host() -> str:
    """A loopback address where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"

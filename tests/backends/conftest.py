"""Fixtures for backend tests: tiny Qwen folders and a loopback Ollama server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ollama_server.py

from ollama_server import OllamaTestServer, ServedModel  # noqa: E402

from qwen_router.testing import build_tiny_qwen2, build_tiny_qwen3  # noqa: E402


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny") / "qwen2")


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny") / "qwen3")


@pytest.fixture(scope="session")
def ollama_models(tiny_qwen2_dir: Path, tiny_qwen3_dir: Path) -> dict[str, ServedModel]:
    return {
        "qwen2.5:tiny": ServedModel(str(tiny_qwen2_dir), "qwen2", ["completion"]),
        "qwen2.5vl:tiny": ServedModel(str(tiny_qwen2_dir), "qwen25vl", ["completion", "vision"]),
        "qwen3:tiny": ServedModel(str(tiny_qwen3_dir), "qwen3", ["completion", "thinking"]),
    }


@pytest.fixture(scope="session")
def _session_server(ollama_models: dict[str, ServedModel]) -> Iterator[OllamaTestServer]:
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

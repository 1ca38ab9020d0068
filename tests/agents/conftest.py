"""Fixtures for the agent tests: loopback Ollama and vLLM-like servers whose tiny
Qwen2 (with Qwen2.5's real chat template, tools included) is made to say tool calls
(``faults.say``), profiles that route to them, and ``qwen-router serve`` in a thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_router.server import create_app
from qwen_router.settings import Settings
from server.conftest import ServerThread
from support.ollama_server import OllamaTestServer, ServedModel
from support.openai_server import OpenAITestServer
from support.openai_server import ServedModel as OpenAIModel

OLLAMA_TOOLS = "qwen2.5:7b"  # family qwen2.5: tools
OLLAMA_MATH = "qwen2-math:7b"  # family qwen2.5-math: no tools
OPENAI_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture(scope="session")
def _ollama(tiny_qwen2: Path) -> Iterator[OllamaTestServer]:
    models = {
        OLLAMA_TOOLS: ServedModel(str(tiny_qwen2), "qwen2", ["completion", "tools"]),
        OLLAMA_MATH: ServedModel(str(tiny_qwen2), "qwen2", ["completion"]),
    }
    server = OllamaTestServer(models).start()
    yield server
    server.stop()


@pytest.fixture
def ollama(_ollama: OllamaTestServer) -> Iterator[OllamaTestServer]:
    yield _ollama.fresh()
    _ollama.fresh()


@pytest.fixture(scope="session")
def _vllm(tiny_qwen2: Path) -> Iterator[OpenAITestServer]:
    server = OpenAITestServer({OPENAI_MODEL: OpenAIModel(str(tiny_qwen2))}).start()
    yield server
    server.stop()


@pytest.fixture
def vllm(_vllm: OpenAITestServer) -> Iterator[OpenAITestServer]:
    yield _vllm.fresh()
    _vllm.fresh()


def _profile(path: Path, backend: str, options: str, general: str, math: str) -> Path:
    routes = "\n".join(
        f"  {route}:\n    model: {backend}:{model}\n    template: {route}\n"
        f"    params: {{max_tokens: 64, temperature: 0.0}}"
        + ("\n    verifiers: [math]\n    max_repairs: 1" if route == "math" else "")
        for route, model in (
            ("general", general),
            ("code", general),
            ("math", math),
            ("vision", general),
            ("multilingual", general),
        )
    )
    path.write_text(
        f"name: {backend}-tools\nbackends:\n  {backend}: {options}\n"
        f"retry: {{max_retries: 0}}\nroutes:\n{routes}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def ollama_profile(ollama: OllamaTestServer, tmp_path: Path) -> Path:
    """General, code, vision, multilingual on the tool model; math on Qwen2-Math."""
    return _profile(
        tmp_path / "ollama.yaml",
        "ollama",
        f"{{host: '{ollama.host}'}}",
        OLLAMA_TOOLS,
        OLLAMA_MATH,
    )


@pytest.fixture
def openai_profile(vllm: OpenAITestServer, tmp_path: Path) -> Path:
    return _profile(
        tmp_path / "openai.yaml",
        "openai",
        f"{{base_url: '{vllm.base_url}'}}",
        OPENAI_MODEL,
        OPENAI_MODEL,
    )


@pytest.fixture
def hf_profile(tiny_qwen2: Path, tmp_path: Path) -> Path:
    return _profile(
        tmp_path / "hf.yaml",
        "hf",
        "{device: cpu, dtype: float32}",
        str(tiny_qwen2),
        str(tiny_qwen2),
    )


@contextlib.contextmanager
def serving(profile: Path, **settings: Any) -> Iterator[ServerThread]:
    """``qwen-router serve`` for ``profile`` on a free loopback port."""
    config = Settings(profile=str(profile), **settings)
    server = ServerThread(create_app(config), config).start()
    try:
        yield server
    finally:
        server.stop()

"""Fixtures for thinking tests: the transformers backend on the tiny Qwen3, and the
loopback Ollama-protocol server serving the same tiny model (raw continuation)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def hf_backend() -> Any:
    """One in-process transformers backend (CPU, float32) shared by the session."""
    import torch
    from qwen_router.backends.hf import HFBackend

    torch.set_num_threads(1)
    return HFBackend(device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def qwen3(tiny_qwen3: Path) -> str:
    """The tiny hybrid Qwen3 folder, as the model name an ``hf:`` spec carries."""
    return str(tiny_qwen3)


@pytest.fixture(scope="session")
def ollama_qwen3(tiny_qwen3: Path) -> Iterator[Any]:
    """A loopback Ollama server answering ``qwen3:tiny`` with the tiny Qwen3."""
    from support.ollama_server import OllamaTestServer, ServedModel

    server = OllamaTestServer(
        {
            "qwen3:tiny": ServedModel(
                str(tiny_qwen3), "qwen3", ["completion", "thinking"]
            )
        }
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openai_qwen3(tiny_qwen3: Path) -> Iterator[Any]:
    """A loopback OpenAI-compatible (vLLM-like) server answering ``qwen3-tiny``."""
    from support.openai_server import OpenAITestServer, ServedModel

    server = OpenAITestServer(
        {"qwen3-tiny": ServedModel(str(tiny_qwen3), thinking=True)}
    )
    yield server.start()
    server.stop()


@pytest.fixture
def arun_budget() -> Callable[[Callable[[], Any], Any], Any]:
    """``arun_budget(make_backend, request)``: the final result of ``arun_with_budget``
    in a fresh event loop, on a backend made (and ``aclose``d) inside that loop."""
    from qwen_router.tools.budget.controller import arun_with_budget

    def run(make_backend: Callable[[], Any], request: Any) -> Any:
        async def drive() -> Any:
            backend = make_backend()
            try:
                chunks = [c async for c in arun_with_budget(backend, request)]
                return chunks[-1].result
            finally:
                await backend.aclose()

        return asyncio.run(drive())

    return run


@pytest.fixture(scope="session")
def tiny_qwen35(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Qwen3.5 text model with the real Qwen3.5 vocabulary."""
    from qwen_router.testing import build_tiny_qwen35, qwen35_available

    if not qwen35_available():
        pytest.skip("this transformers has no qwen3_5_text model")
    return build_tiny_qwen35(tmp_path_factory.mktemp("tiny-qwen35"))

"""The OpenAI-compatible backend against ``qwen-router serve`` itself (uvicorn on
127.0.0.1, the tiny-Qwen2 profile): one router can front another, which is how
routes point at other routers' clusters."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.errors import ModelNotFound
from qwen_router.types import GenerationParams, Message
from support.loopback import free_port

pytest.importorskip("qwen_router.server.app")
uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def serve_url(tiny_profile_yaml: Path) -> Iterator[str]:
    from qwen_router.server import create_app
    from qwen_router.settings import Settings

    port = free_port()
    app = create_app(Settings(profile=str(tiny_profile_yaml)))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "qwen-router serve did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=30)


def test_the_backend_talks_to_qwen_router_serve(serve_url: str) -> None:
    backend = OpenAIBackend(base_url=serve_url, timeout=120)
    assert "auto" in backend.list_models()
    params = GenerationParams(max_tokens=8, temperature=1.0, seed=1)
    request = GenerateRequest(
        model="auto", messages=[Message(role="user", content="Hi")], params=params
    )
    chunks = list(backend.stream(request))
    result = chunks[-1].result
    assert result is not None and result.text.strip()
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert asyncio.run(backend.agenerate(request)).text == result.text
    with pytest.raises(ModelNotFound):
        backend.generate(request.model_copy(update={"model": "no-such-model"}))
    backend.close()

"""A prompt longer than a remote model's declared context is refused before the upstream sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.openai_server import OpenAITestServer
from support.openai_server import ServedModel as OpenAIModel

from .conftest import serve

MODEL = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture(scope="module")
def upstream(tiny_qwen2: Path) -> Iterator[OpenAITestServer]:
    server = OpenAITestServer({MODEL: OpenAIModel(str(tiny_qwen2))}).start()
    yield server
    server.stop()


def _profile(path: Path, upstream: OpenAITestServer, context: int) -> Path:
    path.write_text(
        f"name: remote\nbackends:\n  openai: {{base_url: 'http://127.0.0.1:{upstream.port}/v1'}}\n"
        "retry: {max_retries: 0}\n"
        f"routes:\n  general: {{model: 'openai:{MODEL}', params: {{max_tokens: 4}}}}\n"
        f"models:\n  openai:{MODEL}: {{context: {context}}}\n",
        encoding="utf-8",
    )
    return path


def test_over_long_prompt_for_a_remote_model_is_a_400_before_any_upstream_call(
    upstream: OpenAITestServer, tmp_path: Path
) -> None:
    upstream.fresh()
    profile = _profile(tmp_path / "remote.yaml", upstream, context=512)
    long_prompt = "Please summarise this sentence about routers. " * 400  # ~3,600 tokens
    with serve(profile) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        refused = client.post(
            "/v1/chat/completions",
            json={"model": "auto:general", "messages": [{"role": "user", "content": long_prompt}]},
        )
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "context_length_exceeded"
        assert "512" in error["message"]
        assert upstream.requests == []  # refused before the upstream was asked

        answered = client.post(
            "/v1/chat/completions",
            json={"model": "auto:general", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert answered.status_code == 200, answered.text
        assert len(upstream.requests) == 1

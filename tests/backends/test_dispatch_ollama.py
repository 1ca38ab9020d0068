"""Fallbacks across real backends: the loopback Ollama server, then transformers
in-process on the same tiny Qwen model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import Backend, GenerateRequest
from qwen_router.backends.dispatch import Attempt, Dispatcher
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.ollama import OllamaBackend
from qwen_router.errors import BackendResponseError, ModelNotFound
from qwen_router.profiles import ModelSpec, RetryConfig, parse_model_spec
from qwen_router.types import GenerationParams, Message
from support.ollama_server import OllamaTestServer

pytestmark = pytest.mark.timeout(180)  # hang guard only


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Env:
    """An Ollama backend on the test server, HF in-process, and a Dispatcher."""

    def __init__(
        self, server: OllamaTestServer, tiny: Path, timeout: float = 30
    ) -> None:
        self.server = server
        self.ollama = OllamaBackend(host=server.host, timeout=timeout)
        self.hf = HFBackend(kind="hf", device="cpu", dtype="float32")
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.candidates = [
            parse_model_spec("ollama:qwen2.5:tiny"),
            parse_model_spec(f"hf:{tiny}"),
        ]

    def backends(self, name: str) -> Backend:
        return {"ollama": self.ollama, "hf": self.hf}[name]

    def dispatcher(self, **retry: Any) -> Dispatcher:
        async def asleep(s: float) -> None:
            self.sleeps.append(s)

        return Dispatcher(
            self.backends,
            RetryConfig(**retry),
            clock=self.clock,
            sleep=self.sleeps.append,
            asleep=asleep,
        )

    def ask(
        self, dispatcher: Dispatcher, candidates: list[ModelSpec] | None = None
    ) -> tuple[ModelSpec, str, list[Attempt]]:
        attempts: list[Attempt] = []
        answered, text = None, None
        for spec, chunk in dispatcher.stream(
            candidates or self.candidates, _make, attempts
        ):
            if chunk.done and chunk.result is not None:
                answered, text = spec, chunk.result.text
        assert answered is not None and text is not None
        return answered, text, attempts

    def aask(self, dispatcher: Dispatcher) -> tuple[ModelSpec, str, list[Attempt]]:
        async def main() -> tuple[ModelSpec, str, list[Attempt]]:
            attempts: list[Attempt] = []
            answered, text = None, None
            async for spec, chunk in dispatcher.astream(
                self.candidates, _make, attempts
            ):
                if chunk.done and chunk.result is not None:
                    answered, text = spec, chunk.result.text
            await self.ollama.aclose()
            assert answered is not None and text is not None
            return answered, text, attempts

        return asyncio.run(main())


def _make(spec: ModelSpec, backend: Backend) -> GenerateRequest:
    return GenerateRequest(
        model=spec.name,
        messages=[Message(role="user", content="Hi!")],
        params=GenerationParams(max_tokens=4, temperature=0.0),
    )


@pytest.fixture
def env(ollama_server: OllamaTestServer, tiny_qwen2: Path) -> Iterator[Env]:
    e = Env(ollama_server, tiny_qwen2)
    yield e
    e.ollama.close()


def test_server_stopped_mid_test_falls_back_to_transformers(env: Env) -> None:
    dispatcher = env.dispatcher(
        max_retries=2, backoff_s=0.05, failures_before_cooldown=10
    )
    spec, text, attempts = env.ask(dispatcher)
    assert spec.backend == "ollama" and text and attempts[-1].ok

    env.server.stop()
    spec, text, attempts = env.ask(dispatcher)
    assert spec.backend == "hf" and text
    failed = [a for a in attempts if not a.ok]
    assert [a.attempt for a in failed] == [1, 2, 3]
    assert {a.error_type for a in failed} == {"BackendUnavailable"}
    assert env.server.host in (failed[0].error or "")
    assert env.sleeps == pytest.approx([0.05, 0.1])  # backoff counted, never slept

    spec, _, _ = env.aask(dispatcher)
    assert spec.backend == "hf"


def test_stalled_server_times_out_then_falls_back(
    ollama_server: OllamaTestServer, tiny_qwen2: Path
) -> None:
    env = Env(ollama_server, tiny_qwen2, timeout=0.3)
    ollama_server.faults.stall_s = 30  # stop() at teardown wakes it
    spec, text, attempts = env.ask(env.dispatcher(max_retries=0))
    assert spec.backend == "hf" and text
    assert attempts[0].error_type == "BackendTimeout" and attempts[0].retryable
    ollama_server.stop()


def test_error_line_mid_stream_is_raised_not_completed_by_fallback(env: Env) -> None:
    env.server.faults.error_after = 5

    def make(spec: ModelSpec, backend: Backend) -> GenerateRequest:
        request = _make(spec, backend)
        return request.model_copy(
            update={"params": GenerationParams(max_tokens=12, temperature=1.0, seed=3)}
        )

    attempts: list[Attempt] = []
    seen = []
    with pytest.raises(BackendResponseError) as info:
        for _, chunk in env.dispatcher(max_retries=2).stream(
            env.candidates, make, attempts
        ):
            seen.append(chunk)
    assert seen and not any(c.done for c in seen)  # output had started, never completed
    assert "discarded" in str(info.value)
    assert [a.backend for a in attempts] == ["ollama"] and not attempts[0].ok


def test_error_line_before_output_is_retried(env: Env) -> None:
    env.server.faults.error_after = 0
    env.server.faults.error_message = "llama runner process has terminated"
    spec, _, attempts = env.ask(
        env.dispatcher(max_retries=1, failures_before_cooldown=10)
    )
    assert spec.backend == "hf"
    assert [(a.backend, a.attempt, a.ok) for a in attempts] == [
        ("ollama", 1, False), ("ollama", 2, False), ("hf", 1, True),
    ]  # fmt: skip


def test_cooldown_skips_a_failing_ollama(env: Env) -> None:
    env.server.faults.fail_status, env.server.faults.fail_count = 503, 1000
    dispatcher = env.dispatcher(
        max_retries=0, failures_before_cooldown=2, cooldown_s=60
    )
    for _ in range(2):
        assert env.ask(dispatcher)[0].backend == "hf"
    hits = len(env.server.requests)
    spec, _, attempts = env.ask(dispatcher)
    assert spec.backend == "hf" and attempts[0].skipped
    assert len(env.server.requests) == hits  # not even contacted

    env.server.faults.fail_count = 0  # healthy again; after the cooldown it answers
    env.clock.now += 61
    spec, _, attempts = env.ask(dispatcher)
    assert spec.backend == "ollama" and attempts == [attempts[0]] and attempts[0].ok


def test_retry_with_backoff_recovers_on_the_same_model(env: Env) -> None:
    env.server.faults.fail_status, env.server.faults.fail_count = 500, 2
    dispatcher = env.dispatcher(max_retries=3, backoff_s=0.1, backoff_max_s=0.15)
    spec, _, attempts = env.ask(dispatcher)
    assert spec.backend == "ollama"
    assert [(a.attempt, a.ok) for a in attempts] == [(1, False), (2, False), (3, True)]
    assert env.sleeps == pytest.approx([0.1, 0.15])


def test_model_not_found(env: Env, tiny_qwen2: Path) -> None:
    dispatcher = env.dispatcher(max_retries=3)
    missing = parse_model_spec("ollama:qwen9:404b")
    spec, _, attempts = env.ask(dispatcher, [missing, env.candidates[1]])
    assert spec.backend == "hf" and attempts[0].error_type == "ModelNotFound"
    assert env.sleeps == []
    with pytest.raises(ModelNotFound) as info:
        env.ask(dispatcher, [missing])
    assert info.value.hint == "ollama pull qwen9:404b"

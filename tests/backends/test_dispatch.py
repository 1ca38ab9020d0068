"""Dispatcher control flow: retries, backoff, fallbacks, cooldowns.

A scripted backend drives the failure sequences here; tests/backends/
test_dispatch_ollama.py runs the same rules against the loopback Ollama server and a
real tiny model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from qwen_router.backends.base import BaseBackend, Chunk, GenerateRequest, RawDelta
from qwen_router.backends.dispatch import Attempt, CooldownBook, Dispatcher
from qwen_router.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
    RouterError,
)
from qwen_router.profiles import ModelSpec, RetryConfig, parse_model_spec
from qwen_router.types import Message

pytestmark = pytest.mark.timeout(60)

A, B, C = (parse_model_spec(s) for s in ("fake:a", "fake:b", "fake:c"))


class Scripted(BaseBackend):
    """Per model, a queue of outcomes: an exception to raise, or text to stream.
    ``"text|boom"`` streams ``text`` and then fails."""

    name = "fake"

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        self.calls.append(request.model)
        queue = self.script.get(request.model) or ["ok"]
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, BaseException):
            raise outcome
        text, _, fail = outcome.partition("|")
        yield RawDelta(text=text, tokens=1)
        if fail:
            raise BackendUnavailable("connection lost mid-stream")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _make(spec: ModelSpec, backend: Any) -> GenerateRequest:
    return GenerateRequest(
        model=spec.name, messages=[Message(role="user", content="hi")]
    )


def _dispatcher(
    backend: BaseBackend, clock: FakeClock | None = None, **retry: Any
) -> tuple[Dispatcher, list[float]]:
    sleeps: list[float] = []

    async def asleep(s: float) -> None:
        sleeps.append(s)

    config = RetryConfig(**{"backoff_s": 0.1, "backoff_max_s": 0.3, **retry})
    dispatcher = Dispatcher(
        lambda name: backend, config, clock=clock or FakeClock(), sleep=sleeps.append,
        asleep=asleep,
    )  # fmt: skip
    return dispatcher, sleeps


def _run(
    dispatcher: Dispatcher, candidates: list[ModelSpec]
) -> tuple[ModelSpec, str, list[Attempt]]:
    attempts: list[Attempt] = []
    answered, text = None, ""
    for spec, chunk in dispatcher.stream(candidates, _make, attempts):
        if chunk.done and chunk.result is not None:
            answered, text = spec, chunk.result.text
    assert answered is not None
    return answered, text, attempts


def _arun(
    dispatcher: Dispatcher, candidates: list[ModelSpec]
) -> tuple[ModelSpec, str, list[Attempt]]:
    async def main() -> tuple[ModelSpec, str, list[Attempt]]:
        attempts: list[Attempt] = []
        answered, text = None, ""
        async for spec, chunk in dispatcher.astream(candidates, _make, attempts):
            if chunk.done and chunk.result is not None:
                answered, text = spec, chunk.result.text
        assert answered is not None
        return answered, text, attempts

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Any:
    return _run if request.param == "sync" else _arun


def test_first_candidate_answers(run: Any) -> None:
    dispatcher, sleeps = _dispatcher(Scripted({"a": ["hello"]}))
    spec, text, attempts = run(dispatcher, [A, B])
    assert (spec, text) == (A, "hello")
    assert [(a.model, a.ok, a.attempt) for a in attempts] == [("fake:a", True, 1)]
    assert sleeps == []


def test_retries_with_exponential_backoff_then_answers(run: Any) -> None:
    boom = BackendTimeout("slow")
    backend = Scripted({"a": [boom, boom, boom, "late"]})
    dispatcher, sleeps = _dispatcher(
        backend, max_retries=3, failures_before_cooldown=10
    )
    spec, text, attempts = run(dispatcher, [A, B])
    assert (spec, text) == (A, "late")
    assert sleeps == pytest.approx([0.1, 0.2, 0.3])  # doubled, capped at backoff_max_s
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert [a.backoff_s for a in attempts[:3]] == pytest.approx([0.1, 0.2, 0.3])
    assert [a.error_type for a in attempts] == ["BackendTimeout"] * 3 + [None]


def test_retries_exhausted_then_fallback(run: Any) -> None:
    backend = Scripted({"a": [BackendUnavailable("down")], "b": ["from b"]})
    dispatcher, sleeps = _dispatcher(
        backend, max_retries=2, failures_before_cooldown=10
    )
    spec, text, attempts = run(dispatcher, [A, B])
    assert (spec, text) == (B, "from b")
    assert backend.calls == ["a", "a", "a", "b"]
    assert len(sleeps) == 2 and attempts[2].backoff_s is None


def test_model_not_found_goes_to_fallback_without_retry(run: Any) -> None:
    backend = Scripted(
        {"a": [ModelNotFound("no a", hint="ollama pull a")], "b": ["b!"]}
    )
    dispatcher, sleeps = _dispatcher(backend, max_retries=3)
    spec, _, attempts = run(dispatcher, [A, B])
    assert spec == B and backend.calls == ["a", "b"] and sleeps == []
    assert attempts[0].error_type == "ModelNotFound"


def test_model_not_found_without_fallback_is_raised_at_once(run: Any) -> None:
    backend = Scripted({"a": [ModelNotFound("no a")]})
    dispatcher, _ = _dispatcher(backend, max_retries=3)
    with pytest.raises(ModelNotFound):
        run(dispatcher, [A])
    assert backend.calls == ["a"]


def test_non_retryable_error_is_raised_even_with_fallbacks(run: Any) -> None:
    backend = Scripted({"a": [BackendResponseError("bad request", status_code=400)]})
    dispatcher, _ = _dispatcher(backend, max_retries=3)
    with pytest.raises(BackendResponseError):
        run(dispatcher, [A, B])
    assert backend.calls == ["a"]


def test_failure_after_output_started_is_raised_not_completed_elsewhere(
    run: Any,
) -> None:
    backend = Scripted({"a": ["partial|boom"], "b": ["b"]})
    dispatcher, _ = _dispatcher(backend, max_retries=3)
    with pytest.raises(BackendUnavailable):
        run(dispatcher, [A, B])
    assert backend.calls == ["a"]


def test_backend_that_cannot_be_built_falls_back_without_retry(run: Any) -> None:
    good = Scripted({"b": ["b"]})

    def get(name: str) -> Any:
        if name == "ollama":
            raise BackendUnavailable(
                "backend 'ollama' is not available", hint="pip install x"
            )
        return good

    dispatcher = Dispatcher(get, RetryConfig(max_retries=3), sleep=lambda s: None)
    spec, _, attempts = run(dispatcher, [parse_model_spec("ollama:qwen3:8b"), B])
    assert spec == B and [a.attempt for a in attempts] == [1, 1]


def test_config_errors_propagate(run: Any) -> None:
    def get(name: str) -> Any:
        raise ConfigError("bad options")

    with pytest.raises(ConfigError):
        run(Dispatcher(get), [A, B])


def test_cooldown_skips_then_probes_then_recovers(run: Any) -> None:
    clock = FakeClock()
    down = BackendUnavailable("down")
    backend = Scripted({"a": [down, down, down, "back"], "b": ["b"]})
    dispatcher, sleeps = _dispatcher(
        backend, clock, max_retries=0, failures_before_cooldown=2, cooldown_s=30
    )
    assert run(dispatcher, [A, B])[0] == B  # failure 1
    spec, _, attempts = run(dispatcher, [A, B])  # failure 2: cooldown starts
    assert spec == B and attempts[0].cooldown_s == 30
    assert "fake:a" in dispatcher.cooldowns.snapshot()

    calls = len(backend.calls)
    spec, _, attempts = run(dispatcher, [A, B])  # skipped at once
    assert spec == B and attempts[0].skipped and attempts[0].error_type == "Cooldown"
    assert backend.calls[calls:] == ["b"]

    clock.now += 31  # cooldown over: one probe, which fails -> cooling again
    spec, _, attempts = run(dispatcher, [A, B])
    assert spec == B and attempts[0].attempt == 1 and attempts[0].cooldown_s == 30
    clock.now += 31
    spec, text, attempts = run(dispatcher, [A, B])
    assert (spec, text) == (A, "back")
    assert dispatcher.cooldowns.snapshot() == {}
    assert sleeps == []


def test_cooldown_cuts_retries_short() -> None:
    backend = Scripted({"a": [BackendUnavailable("down")], "b": ["b"]})
    dispatcher, sleeps = _dispatcher(backend, max_retries=5, failures_before_cooldown=2)
    spec, _, attempts = _run(dispatcher, [A, B])
    assert spec == B and backend.calls == ["a", "a", "b"] and len(sleeps) == 1


def test_every_candidate_cooling_down_raises_unavailable(run: Any) -> None:
    backend = Scripted({"a": [BackendUnavailable("down")]})
    dispatcher, _ = _dispatcher(backend, max_retries=0, failures_before_cooldown=1)
    with pytest.raises(BackendUnavailable):
        run(dispatcher, [A])
    with pytest.raises(BackendUnavailable) as info:
        run(dispatcher, [A])
    assert "cooling down" in str(info.value) and backend.calls == ["a"]


def test_duplicate_candidates_are_tried_once() -> None:
    backend = Scripted({"a": [BackendUnavailable("down")], "c": ["c"]})
    dispatcher, _ = _dispatcher(backend, max_retries=0, failures_before_cooldown=5)
    spec, _, _ = _run(dispatcher, [A, A, C])
    assert spec == C and backend.calls == ["a", "c"]


def test_runner_is_used() -> None:
    backend = Scripted({"a": ["x"]})
    seen: list[str] = []

    def runner(b: Any, request: GenerateRequest) -> Iterator[Chunk]:
        seen.append(request.model)
        return b.stream(request)

    attempts: list[Attempt] = []
    out = list(Dispatcher(lambda n: backend).stream([A], _make, attempts, run=runner))
    assert seen == ["a"] and out[-1][1].done


def test_cooldown_book_is_thread_safe() -> None:
    book = CooldownBook(RetryConfig(failures_before_cooldown=400, cooldown_s=5))
    started: list[float | None] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            result = book.failure("fake:a")
            if result is not None:
                with lock:
                    started.append(result)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert started == [5]  # exactly the 400th failure started the cooldown
    assert book.remaining("fake:a") > 0
    book.reset()
    assert book.remaining("fake:a") == 0


def test_attempts_serialise_for_the_trace() -> None:
    backend = Scripted({"a": [BackendTimeout("slow")], "b": ["b"]})
    dispatcher, _ = _dispatcher(backend, max_retries=1, failures_before_cooldown=9)
    _, _, attempts = _run(dispatcher, [A, B])
    dumped = [a.model_dump(exclude_none=True) for a in attempts]
    assert (
        dumped[0]["error_type"] == "BackendTimeout" and dumped[0]["retryable"] is True
    )
    assert dumped[-1]["ok"] is True
    assert all(isinstance(a, Attempt) for a in attempts)
    assert issubclass(BackendTimeout, RouterError)


def test_no_candidates() -> None:
    with pytest.raises(BackendUnavailable):
        _run(Dispatcher(lambda n: Scripted({})), [])


def test_other_backend_failures_fall_back_without_retry(run: Any) -> None:
    backend = Scripted({"a": [BackendError("generation failed: CUDA OOM")], "b": ["b"]})
    dispatcher, sleeps = _dispatcher(backend, max_retries=3)
    spec, _, attempts = run(dispatcher, [A, B])
    assert spec == B and backend.calls == ["a", "b"] and sleeps == []
    assert attempts[0].retryable is False


class Stalling(BaseBackend):
    """Async-native (no worker thread): model ``stall`` sends one delta and then
    never another; model ``two`` sends two at once."""

    name = "fake"

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        raise AssertionError("the async path is under test")

    async def _araw_stream(self, request: GenerateRequest) -> Any:
        yield RawDelta(text="first ", tokens=1)
        if request.model == "stall":
            await asyncio.sleep(3600)
        yield RawDelta(text="second", tokens=1)


STALL, TWO = parse_model_spec("fake:stall"), parse_model_spec("fake:two")


def test_deadline_ends_a_stalled_attempt_with_a_timeout() -> None:
    dispatcher, _ = _dispatcher(Stalling(), timeout_s=0.2, max_retries=0)

    async def main() -> list[str]:
        texts = []
        async for _spec, chunk in dispatcher.astream([STALL], _make, []):
            texts.append(chunk.text)
        return texts

    with pytest.raises(BackendTimeout, match="within 0.2s"):
        asyncio.run(main())


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    """The attempt's one timer turns only its own cancel into a timeout: a caller
    that cancels (a client gone) gets CancelledError, even with a deadline set."""
    dispatcher, _ = _dispatcher(Stalling(), timeout_s=30, max_retries=0)

    async def main() -> str:
        async def consume() -> None:
            async for _spec, _chunk in dispatcher.astream([STALL], _make, []):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.1)  # waiting on the stalled backend by now
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        except BackendTimeout:
            return "timeout"
        return "finished"

    assert asyncio.run(main()) == "cancelled"


def test_deadline_passing_while_the_consumer_works_fails_the_next_wait() -> None:
    """The consumer's own work between chunks is never cancelled by the backend's
    deadline; the attempt fails at its next wait instead."""
    dispatcher, _ = _dispatcher(Stalling(), timeout_s=0.1, max_retries=0)
    finished_work: list[bool] = []

    async def main() -> None:
        async for _spec, chunk in dispatcher.astream([TWO], _make, []):
            if chunk.text == "first ":
                await asyncio.sleep(0.3)  # past the deadline, on the consumer's side
                finished_work.append(True)

    with pytest.raises(BackendTimeout):
        asyncio.run(main())
    assert finished_work == [True]

"""Fallbacks, retries with exponential backoff, and cooldowns: for every backend, here.

The graph calls :meth:`Dispatcher.stream` / :meth:`Dispatcher.astream` with a route's
model followed by its fallbacks. For each candidate, in order:

* **cooldown** — a backend+model that failed ``failures_before_cooldown`` times in a row
  (across requests; only failures that say the backend itself is down: no answer, a
  timeout, 429/502/503/504 — an error answer such as a 500 may be one client's fault
  and never locks other clients out) is skipped until ``cooldown_s`` has passed,
  recorded as a skipped attempt. After the cooldown one probe goes through; if it fails
  the candidate cools down again at once, if it succeeds its count resets.
* **retryable** failures (``RouterError.retryable``: unavailable, timeout, 5xx/429) are
  retried after ``backoff_s * 2**(n-1)`` seconds (capped at ``backoff_max_s``) up to
  ``max_retries`` times, unless the candidate just entered cooldown; then the next
  candidate is tried.
* a request the backend refused (``BackendResponseError`` with a 4xx status, or a 500
  whose message names a validation fault in the request, turned into a 400), bad
  input and config errors are raised at once: another model would refuse them too.
* **deadline** — ``retry.timeout_s`` bounds each attempt as a whole (async path: the
  stalled call is cancelled; sync path: checked between chunks); a timed-out attempt
  moves on to the next candidate without retrying.
* any other failure (``ModelNotFound``, a backend that cannot be built, a retryable
  failure out of retries, a runtime crash) moves to the next candidate without
  further retries, or is raised when there is none.
* a failure after the first chunk was yielded is raised: a partial answer is never
  completed by another model.

Every try is appended to ``attempts``; the yielded spec says which model answered.
When nothing answered, the last error is raised (a BackendUnavailable naming the
cooldowns when every candidate was skipped).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from qwen_router.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    RouterError,
)
from qwen_router.profiles import ModelSpec, RetryConfig

from .base import Backend, Chunk, GenerateRequest

if TYPE_CHECKING:
    from qwen_router.observability.calls import CallObserver

__all__ = ["Attempt", "CooldownBook", "Dispatcher", "backend_failed", "blame_request"]


class Attempt(BaseModel):
    """One try of one candidate (or its skip), as recorded in the trace."""

    model: str
    backend: str
    ok: bool
    error: str | None = None
    error_type: str | None = None
    ms: float = 0.0
    skipped: bool = False
    attempt: int = 1  # 1 for the first try of this candidate, 2 for its first retry...
    retryable: bool | None = None
    backoff_s: float | None = None  # the wait before the next try of this candidate
    cooldown_s: float | None = (
        None  # cooldown entered by this failure, or left when skipped
    )


RequestFactory = Callable[[ModelSpec, Backend], GenerateRequest]
# How one backend runs one request; the thinking-budget controller wraps this.
Runner = Callable[[Backend, GenerateRequest], Iterator[Chunk]]
AsyncRunner = Callable[[Backend, GenerateRequest], AsyncIterator[Chunk]]
Clock = Callable[[], float]


@dataclass
class _Health:
    failures: int = 0
    until: float = 0.0


class CooldownBook:
    """Consecutive failures and cooldown deadlines per ``backend:model``.

    Thread-safe; shared by every request of one Dispatcher.
    """

    def __init__(self, retry: RetryConfig, clock: Clock = time.monotonic) -> None:
        self.retry = retry
        self.clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, _Health] = {}

    def remaining(self, key: str) -> float:
        """Seconds of cooldown left for ``key`` (0 when it may be tried)."""
        with self._lock:
            health = self._state.get(key)
            return max(0.0, health.until - self.clock()) if health else 0.0

    def failure(self, key: str) -> float | None:
        """Count a retryable failure; return the cooldown it starts, if any."""
        with self._lock:
            health = self._state.setdefault(key, _Health())
            health.failures += 1
            if (
                health.failures < self.retry.failures_before_cooldown
                or not self.retry.cooldown_s
            ):
                return None
            health.until = self.clock() + self.retry.cooldown_s
            return self.retry.cooldown_s

    def success(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def snapshot(self) -> dict[str, float]:
        """Every key still cooling down, with the seconds left."""
        now = self.clock()
        with self._lock:
            return {k: h.until - now for k, h in self._state.items() if h.until > now}

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._state.clear()
            else:
                self._state.pop(key, None)


@dataclass
class _Plan:
    """The decisions of one dispatch; the sync and async loops only do the I/O."""

    book: CooldownBook
    retry: RetryConfig
    candidates: list[ModelSpec]
    attempts: list[Attempt]
    last: RouterError | None = None
    skipped: dict[str, float] = field(default_factory=dict)

    def tries(self) -> Generator[tuple[ModelSpec, int], bool, None]:
        """``(spec, try number)`` in order; the loop sends ``True`` to retry."""
        for spec in self.candidates:
            key = str(spec)
            left = self.book.remaining(key)
            if left > 0:
                self.skipped[key] = left
                self.attempts.append(_skip(spec, left))
                continue
            number = 1
            while (yield spec, number):
                number += 1

    def success(self, spec: ModelSpec, number: int, start: float) -> None:
        self.book.success(str(spec))
        self.attempts.append(_record(spec, number, start))

    def failure(
        self,
        spec: ModelSpec,
        number: int,
        start: float,
        exc: RouterError,
        *,
        started: bool,
        building: bool = False,
    ) -> float | None:
        """Record the failure; return the backoff before retrying ``spec``, ``None`` to
        move on.

        Raises:
            RouterError: ``exc``, when it must not be retried nor fall back.
        """
        exc = blame_request(exc)
        retryable = isinstance(exc, BackendError) and exc.retryable
        # only a backend that did not answer (or said it is overloaded) cools down:
        # an error answer may be caused by one client's request, and must not lock
        # every other client out
        counts = retryable and backend_failed(exc)
        cooldown = self.book.failure(str(spec)) if counts else None
        backoff = None
        if isinstance(exc, BackendTimeout) and getattr(exc, "deadline", False):
            retryable = False  # a stalled attempt moves on to the next candidate
        if retryable and not started and not building and cooldown is None:
            if number <= self.retry.max_retries:
                backoff = min(
                    self.retry.backoff_s * 2 ** (number - 1), self.retry.backoff_max_s
                )
        self.attempts.append(
            _record(spec, number, start, exc, retryable, backoff, cooldown)
        )
        self.last = exc
        if started or not isinstance(exc, BackendError) or _rejected(exc):
            raise exc
        if backoff is not None:
            return backoff
        if spec == self.candidates[-1]:  # no fallback left
            raise exc
        return None

    def exhausted(self) -> RouterError:
        if self.last is not None:
            return self.last
        if not self.skipped:
            return BackendUnavailable("no model to send the request to (no candidates)")
        names = ", ".join(f"{k} ({v:.0f}s left)" for k, v in self.skipped.items())
        return BackendUnavailable(
            f"every candidate is cooling down after repeated failures: {names}",
            hint="wait for the cooldown, or fix the backend and reset the router",
        )


class Dispatcher:
    """Try a route's model, then its fallbacks, with retries and shared cooldowns.

    One Dispatcher serves every request of a Router; its cooldown book is shared by
    them. ``clock``, ``sleep`` and ``asleep`` are injectable for tests.
    """

    def __init__(
        self,
        get_backend: Callable[[str], Backend],
        retry: RetryConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: CallObserver | None = None,
    ) -> None:
        self._get_backend = get_backend
        self.retry = retry or RetryConfig()
        self.cooldowns = CooldownBook(self.retry, clock)
        self._sleep = sleep
        self._asleep = asleep
        # every call's chunks pass through it: span, memory, health sample
        self.observer = observer

    def _plan(self, candidates: Sequence[ModelSpec], attempts: list[Attempt]) -> _Plan:
        unique = list(dict.fromkeys(candidates))  # ModelSpec is frozen, so hashable
        return _Plan(self.cooldowns, self.retry, unique, attempts)

    def stream(
        self,
        candidates: Sequence[ModelSpec],
        make_request: RequestFactory,
        attempts: list[Attempt],
        *,
        run: Runner | None = None,
    ) -> Iterator[tuple[ModelSpec, Chunk]]:
        """Yield ``(spec that answered, chunk)``; ``attempts`` receives every try.

        Raises:
            BackendError: no candidate answered (the last error, or BackendUnavailable
                when all were cooling down), a non-retryable error, or a stream that
                broke after output had started.
            RouterError: a request the backend rejected as invalid (raised at once).
        """
        plan = self._plan(candidates, attempts)
        tries = plan.tries()
        step = next(tries, None)
        while step is not None:
            spec, number = step
            start, started, building = time.perf_counter(), False, True
            try:
                backend = self._get_backend(spec.backend)
                request = make_request(spec, backend)
                building = False
                chunks = run(backend, request) if run else backend.stream(request)
                if self.observer is not None:
                    chunks = self.observer.observe(spec, backend, request, chunks)
                deadline = _deadline(self.retry.timeout_s)
                for chunk in chunks:
                    _check_deadline(deadline, spec, self.retry.timeout_s)
                    started = True
                    yield spec, chunk
            except RouterError as exc:
                backoff = plan.failure(
                    spec,
                    number,
                    start,
                    exc,
                    started=started,
                    building=building,
                )
                if backoff is not None and backoff > 0:
                    self._sleep(backoff)
                step = _advance(tries, backoff is not None)
                continue
            plan.success(spec, number, start)
            return
        raise plan.exhausted()

    async def astream(
        self,
        candidates: Sequence[ModelSpec],
        make_request: RequestFactory,
        attempts: list[Attempt],
        *,
        run: AsyncRunner | None = None,
    ) -> AsyncIterator[tuple[ModelSpec, Chunk]]:
        """Async twin of :meth:`stream`.

        Raises:
            BackendError: as :meth:`stream`.
            RouterError: as :meth:`stream`.
        """
        plan = self._plan(candidates, attempts)
        tries = plan.tries()
        step = next(tries, None)
        while step is not None:
            spec, number = step
            start, started, building = time.perf_counter(), False, True
            try:
                backend = self._get_backend(spec.backend)
                request = make_request(spec, backend)
                building = False
                achunks = _within(
                    run(backend, request) if run else backend.astream(request),
                    self.retry.timeout_s,
                    spec,
                )
                if self.observer is not None:
                    achunks = self.observer.aobserve(spec, backend, request, achunks)
                async for chunk in achunks:
                    started = True
                    yield spec, chunk
            except RouterError as exc:
                backoff = plan.failure(
                    spec,
                    number,
                    start,
                    exc,
                    started=started,
                    building=building,
                )
                if backoff is not None and backoff > 0:
                    await self._asleep(backoff)
                step = _advance(tries, backoff is not None)
                continue
            plan.success(spec, number, start)
            return
        raise plan.exhausted()


_REQUEST_FAULT = re.compile(
    r"validat|invalid|malformed|template|jinja|schema|unexpected (field|key|role)|"
    r"missing (field|key)|tool_call_id|unsupported (role|content)",
    re.IGNORECASE,
)


def blame_request(exc: RouterError) -> RouterError:
    """``exc``, or a 400 when an upstream's 500 names a fault in the request (some
    servers answer a malformed tool turn with a 500 validation error): the request
    must change, and no other model would take it either."""
    if (
        isinstance(exc, BackendResponseError)
        and exc.status_code == 500
        and _REQUEST_FAULT.search(exc.message)
    ):
        blamed = BackendResponseError(
            exc.message,
            status_code=400,
            hint="the backend refused this request",
            backend=exc.backend,
            model=exc.model,
        )
        blamed.__cause__ = exc
        return blamed
    return exc


def backend_failed(exc: RouterError) -> bool:
    """Whether ``exc`` says the backend itself is down or overloaded (what counts
    towards a cooldown): it did not answer, timed out, or answered 429/502/503/504."""
    if isinstance(exc, BackendResponseError):
        return exc.status_code in (None, 429, 502, 503, 504)
    return isinstance(exc, BackendError) and exc.retryable


def _deadline(timeout_s: float | None) -> float | None:
    return None if timeout_s is None else time.monotonic() + timeout_s


def _timed_out(spec: ModelSpec, timeout_s: float) -> BackendTimeout:
    exc = BackendTimeout(
        f"{spec} gave no complete answer within {timeout_s:g}s (retry.timeout_s)",
        backend=spec.backend,
        model=spec.name,
    )
    exc.deadline = True  # type: ignore[attr-defined]
    return exc


def _check_deadline(deadline: float | None, spec: ModelSpec, timeout_s: float | None) -> None:
    """The sync path can only check between chunks (a blocked read is not interrupted)."""
    if deadline is not None and timeout_s is not None and time.monotonic() > deadline:
        raise _timed_out(spec, timeout_s)


async def _within(
    chunks: AsyncIterator[Chunk], timeout_s: float | None, spec: ModelSpec
) -> AsyncIterator[Chunk]:
    """``chunks``, with one deadline for the whole attempt (``retry.timeout_s``): a
    stalled backend is cancelled and raises :class:`BackendTimeout`."""
    if timeout_s is None:
        async for chunk in chunks:
            yield chunk
        return
    watch = _Deadline(asyncio.get_running_loop(), timeout_s)
    iterator = chunks.__aiter__()
    try:
        while True:
            if watch.passed():
                raise _timed_out(spec, timeout_s)
            try:
                chunk = await watch.wait(iterator.__anext__())
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                raise _timed_out(spec, timeout_s) from None
            yield chunk
    finally:
        watch.close()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class _Deadline:
    """One timer for a whole attempt. It cancels the task only while the task waits
    for the backend (never while the consumer handles a chunk: then the next wait
    fails at once), and turns that cancellation into ``TimeoutError``, as
    ``asyncio.timeout`` would, without arming a new timer for every chunk."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.deadline = loop.time() + seconds
        self.fired = False
        self.waiting: asyncio.Task[Any] | None = None
        self.handle = loop.call_at(self.deadline, self._fire)

    def _fire(self) -> None:
        self.fired = True
        if self.waiting is not None:
            self.waiting.cancel()

    def passed(self) -> bool:
        return self.fired or self.loop.time() >= self.deadline

    async def wait(self, step: Awaitable[Chunk]) -> Chunk:
        task = asyncio.current_task()
        uncancel = getattr(task, "uncancel", None)
        if task is None or uncancel is None:  # Python 3.10: a timer per chunk
            return await asyncio.wait_for(step, self.deadline - self.loop.time())
        self.waiting = task
        try:
            return await step
        except asyncio.CancelledError:
            # ours, and no one else's: the task's other cancellations still stand
            if self.fired and uncancel() == 0:
                raise asyncio.TimeoutError from None
            raise
        finally:
            self.waiting = None

    def close(self) -> None:
        self.handle.cancel()


def _rejected(exc: BackendError) -> bool:
    """The request itself was refused (a 4xx): another model would refuse it too."""
    return isinstance(exc, BackendResponseError) and not exc.retryable


def _advance(
    tries: Generator[tuple[ModelSpec, int], bool, None], again: bool
) -> tuple[ModelSpec, int] | None:
    """The next ``(spec, try number)``: the same spec again when ``again``."""
    try:
        return tries.send(again)
    except StopIteration:
        return None


def _skip(spec: ModelSpec, left: float) -> Attempt:
    return Attempt(
        model=str(spec),
        backend=spec.backend,
        ok=False,
        skipped=True,
        error=f"{spec} is cooling down after repeated failures ({left:.1f}s left)",
        error_type="Cooldown",
        attempt=0,
        cooldown_s=left,
    )


def _record(
    spec: ModelSpec,
    number: int,
    start: float,
    exc: RouterError | None = None,
    retryable: bool | None = None,
    backoff: float | None = None,
    cooldown: float | None = None,
) -> Attempt:
    return Attempt(
        model=str(spec),
        backend=spec.backend,
        ok=exc is None,
        error=str(exc) if exc else None,
        error_type=type(exc).__name__ if exc else None,
        ms=(time.perf_counter() - start) * 1000,
        attempt=number,
        retryable=retryable if exc else None,
        backoff_s=backoff,
        cooldown_s=cooldown,
    )

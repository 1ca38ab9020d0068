"""The call observer: every backend call the dispatcher makes passes through here once.

For each call (one try of one candidate) it opens a backend span, measures process
memory when the backend runs in this process, and at the end puts the memory figures
on the result's ``usage`` and records a :class:`~.health.CallSample` for the model's
health. A call the consumer stopped early (a client that went away) is not counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from qwen_router.backends.types import Chunk, GenerateRequest, GenerateResult
from qwen_router.errors import BackendError, BackendResponseError

from .health import CallSample, HealthMonitor
from .resources import ResourceSampler, ResourceWindow, default_sampler
from .throughput import measure_throughput
from .tracing import backend_span, end_backend_span

__all__ = ["CallObserver", "counts_against_health"]


def counts_against_health(exc: BaseException) -> bool:
    """A backend failure, not a request the backend refused (4xx) nor a cancellation."""
    if not isinstance(exc, BackendError):
        return False
    if isinstance(exc, BackendResponseError) and not exc.retryable:
        return False
    return True


class _Call:
    """The bookkeeping of one call, shared by the sync and async wrappers."""

    def __init__(
        self, observer: CallObserver, spec: Any, backend: Any, request: GenerateRequest
    ) -> None:
        self.observer, self.key = observer, str(spec)
        self.start = time.perf_counter()
        in_process = bool(getattr(backend.capabilities, "in_process", False))
        self.window: ResourceWindow | None = (
            observer.sampler.open() if in_process and observer.measure_memory else None
        )
        self.span = backend_span(spec, backend, request)

    def finish(self, chunk: Chunk) -> Chunk:
        """The done chunk, its result carrying the memory figures."""
        result = chunk.result
        if result is None:
            return chunk
        if self.window is not None:
            used = self.window.close()
            usage = result.usage.model_copy(
                update={
                    "rss_delta_bytes": used.rss_delta_bytes,
                    "rss_peak_bytes": used.rss_peak_bytes,
                    "cuda_peak_bytes": used.cuda_peak_bytes,
                }
            )
            result = result.model_copy(update={"usage": usage})
            chunk.result = result
        self._ok(result)
        return chunk

    def _ok(self, result: GenerateResult) -> None:
        rates = measure_throughput(result)
        usage = result.usage
        self.observer.monitor.record(
            self.key,
            CallSample(
                at=self.observer.monitor.clock(),
                ok=True,
                latency_s=time.perf_counter() - self.start,
                tokens_per_s=rates.decode_tokens_per_s or rates.tokens_per_s,
                rss_peak_bytes=usage.rss_peak_bytes,
                cuda_peak_bytes=usage.cuda_peak_bytes,
            ),
        )
        end_backend_span(
            self.span,
            result=result,
            extra={
                "qwen_router.first_token_ms": result.first_token_ms,
                "qwen_router.decode_tokens_per_s": rates.decode_tokens_per_s,
                "qwen_router.rss_peak_bytes": usage.rss_peak_bytes,
                "qwen_router.cuda_peak_bytes": usage.cuda_peak_bytes,
            },
        )
        self.span = None

    def fail(self, exc: BaseException) -> None:
        if self.window is not None:
            self.window.close()
        if counts_against_health(exc):
            self.observer.monitor.record(
                self.key,
                CallSample(
                    at=self.observer.monitor.clock(),
                    ok=False,
                    latency_s=time.perf_counter() - self.start,
                    error=f"{type(exc).__name__}: {str(exc)[:200]}",
                ),
            )
        end_backend_span(self.span, error=exc)
        self.span = None

    def close(self) -> None:
        """Always called last: a call that neither finished nor failed was abandoned."""
        if self.window is not None:
            self.window.close()
        if self.span is not None:
            end_backend_span(self.span, extra={"qwen_router.cancelled": True})
            self.span = None


class CallObserver:
    """What the dispatcher runs every backend call's chunks through.

    ``measure_memory``: sample RSS / CUDA for in-process backends (on by default).
    """

    def __init__(
        self,
        monitor: HealthMonitor | None = None,
        *,
        sampler: ResourceSampler | None = None,
        measure_memory: bool = True,
    ) -> None:
        self.monitor = monitor or HealthMonitor()
        self._sampler = sampler
        self.measure_memory = measure_memory

    @property
    def sampler(self) -> ResourceSampler:
        if self._sampler is None:
            self._sampler = default_sampler()
        return self._sampler

    def observe(
        self, spec: Any, backend: Any, request: GenerateRequest, chunks: Iterator[Chunk]
    ) -> Iterator[Chunk]:
        """``chunks`` unchanged, but the done chunk's result with memory figures.

        Raises:
            RouterError: whatever ``chunks`` raises (recorded first).
        """
        call = _Call(self, spec, backend, request)
        try:
            for chunk in chunks:
                yield call.finish(chunk) if chunk.done else chunk
        except (GeneratorExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        finally:
            call.close()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    async def aobserve(
        self,
        spec: Any,
        backend: Any,
        request: GenerateRequest,
        chunks: AsyncIterator[Chunk],
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`observe`.

        Raises:
            RouterError: whatever ``chunks`` raises (recorded first).
        """
        call = _Call(self, spec, backend, request)
        try:
            async for chunk in chunks:
                yield call.finish(chunk) if chunk.done else chunk
        except (GeneratorExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        finally:
            call.close()
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

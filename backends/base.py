"""The backend protocol, and the base class that gives every backend the same
streaming, thinking-split, usage and async behaviour.

A backend implements one method, :meth:`BaseBackend._raw_stream`, that yields
:class:`RawDelta` items (text that may contain ``<think>`` tags, or thinking the
server already separated). Everything else — splitting thinking from the answer,
counting tokens, timings, sync/async twins — lives here once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from qwen_router.thinking import ThinkSplitter
from qwen_router.types import GenerationParams, Message, Usage

__all__ = [
    "Backend",
    "BaseBackend",
    "Capabilities",
    "Chunk",
    "GenerateRequest",
    "GenerateResult",
    "Health",
    "RawDelta",
    "first_load_ms",
]


class Capabilities(BaseModel):
    model_config = ConfigDict(frozen=True)
    vision: bool = False
    thinking: bool = False
    raw_continuation: bool = False
    batching: bool = False
    streaming: bool = True
    json_schema: bool = False


class GenerateRequest(BaseModel):
    """What the graph asks a backend for: one chat completion."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model: str
    messages: list[Message]
    params: GenerationParams = Field(default_factory=GenerationParams)
    thinking: bool | None = None
    thinking_budget: int | None = None
    response_format: dict[str, Any] | None = None


class GenerateResult(BaseModel):
    text: str
    thinking: str | None = None
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    model: str = ""
    backend: str = ""
    thinking_closed: bool = False
    budget_hit: bool = False
    load_ms: float = 0.0
    first_token_ms: float | None = None
    generate_ms: float = 0.0
    thinking_ms: float = 0.0


class Chunk(BaseModel):
    """One streamed piece. The last chunk has ``done=True`` and the full result."""

    text: str = ""
    thinking: str = ""
    done: bool = False
    result: GenerateResult | None = None


class RawDelta(BaseModel):
    """What a backend implementation yields.

    ``text`` may contain think tags; ``thinking`` is for servers that split it
    themselves. ``tokens`` counts the tokens in this delta when the backend knows.
    The last delta may carry ``usage`` / ``finish_reason``.
    """

    text: str = ""
    thinking: str = ""
    tokens: int = 0
    usage: Usage | None = None
    finish_reason: str | None = None


class Health(BaseModel):
    backend: str
    model: str
    available: bool
    detail: str = ""


@runtime_checkable
class Backend(Protocol):
    name: str
    capabilities: Capabilities

    def generate(self, request: GenerateRequest) -> GenerateResult: ...
    def stream(self, request: GenerateRequest) -> Iterator[Chunk]: ...
    async def agenerate(self, request: GenerateRequest) -> GenerateResult: ...
    def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]: ...
    def health(self, model: str) -> Health: ...
    def close(self) -> None: ...


class _Accumulator:
    """Turns raw deltas into chunks and, at the end, one GenerateResult."""

    def __init__(
        self, backend: str, model: str, *, in_thinking: bool = False, load_ms: float = 0.0
    ) -> None:
        self.splitter = ThinkSplitter(in_thinking=in_thinking)
        self.backend, self.model = backend, model
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.thinking_tokens = 0
        self.completion_tokens = 0
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.load_ms = load_ms
        self.start = time.perf_counter()
        self.first_token: float | None = None
        self.thinking_end: float | None = None

    def add(self, delta: RawDelta) -> Chunk | None:
        was_thinking = self.splitter.in_thinking or bool(delta.thinking)
        thinking, text = self.splitter.feed(delta.text) if delta.text else ("", "")
        thinking = delta.thinking + thinking
        self.completion_tokens += delta.tokens
        if was_thinking and delta.tokens:
            self.thinking_tokens += delta.tokens
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.finish_reason:
            self.finish_reason = delta.finish_reason
        return self._emit(thinking, text)

    def _emit(self, thinking: str, text: str) -> Chunk | None:
        now = time.perf_counter()
        if (thinking or text) and self.first_token is None:
            self.first_token = now
        if text and self.thinking_end is None and self.thinking:
            self.thinking_end = now
        if thinking:
            self.thinking.append(thinking)
        if text:
            self.text.append(text)
        return Chunk(text=text, thinking=thinking) if (thinking or text) else None

    def finish(self) -> Chunk:
        tail = self._emit(*self.splitter.flush())
        now = time.perf_counter()
        thinking = "".join(self.thinking)
        usage = self.usage or Usage(completion_tokens=self.completion_tokens)
        if not usage.thinking_tokens and self.thinking_tokens:
            usage = usage.model_copy(update={"thinking_tokens": self.thinking_tokens})
        opened = self.splitter.opened or bool(thinking)
        text = "".join(self.text)
        result = GenerateResult(
            text=text.strip() if opened else text,
            thinking=thinking.strip("\n") if opened else None,
            usage=usage,
            finish_reason=self.finish_reason or "stop",
            model=self.model,
            backend=self.backend,
            thinking_closed=self.splitter.closed,
            load_ms=self.load_ms,
            first_token_ms=(self.first_token - self.start) * 1000 if self.first_token else None,
            generate_ms=(now - self.start) * 1000,
            thinking_ms=((self.thinking_end or now) - self.start) * 1000 if opened else 0.0,
        )
        return Chunk(
            text=tail.text if tail else "",
            thinking=tail.thinking if tail else "",
            done=True,
            result=result,
        )


class BaseBackend:
    """Shared behaviour; subclasses implement ``_raw_stream`` (and maybe ``_araw_stream``)."""

    name: ClassVar[str] = "base"
    capabilities: Capabilities = Capabilities()

    # --- what a backend implements -------------------------------------------------
    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        raise NotImplementedError

    async def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:
        """Default: run the sync stream in a worker thread, one delta at a time."""
        async for delta in _iterate_in_thread(lambda: self._raw_stream(request)):
            yield delta

    def starts_in_thinking(self, request: GenerateRequest) -> bool:
        """Whether the rendered prompt already opened ``<think>``."""
        return False

    def prepare(self, request: GenerateRequest) -> float:
        """Load what ``request`` needs; return the milliseconds spent loading now."""
        return 0.0

    async def aprepare(self, request: GenerateRequest) -> float:
        """:meth:`prepare` off the event loop, for backends that load in-process."""
        if type(self).prepare is BaseBackend.prepare:
            return 0.0
        return await asyncio.to_thread(self.prepare, request)

    # --- raw continuation (capabilities.raw_continuation) ---------------------------
    def render_prompt(self, request: GenerateRequest) -> str:
        """The exact prompt text the model sees for ``request`` (chat template applied)."""
        raise NotImplementedError(f"{self.name} cannot render raw prompts")

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        raise NotImplementedError(f"{self.name} cannot continue raw prompts")

    async def _araw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> AsyncIterator[RawDelta]:
        async for delta in _iterate_in_thread(
            lambda: self._raw_stream_prompt(model, prompt, params)
        ):
            yield delta

    def stream_prompt(
        self, model: str, prompt: str, params: GenerationParams, *, in_thinking: bool = False
    ) -> Iterator[Chunk]:
        """Continue ``prompt`` verbatim (no chat template); thinking split as usual."""
        acc = _Accumulator(self.name, model, in_thinking=in_thinking)
        for delta in self._raw_stream_prompt(model, prompt, params):
            chunk = acc.add(delta)
            if chunk is not None:
                yield chunk
        yield acc.finish()

    async def astream_prompt(
        self, model: str, prompt: str, params: GenerationParams, *, in_thinking: bool = False
    ) -> AsyncIterator[Chunk]:
        acc = _Accumulator(self.name, model, in_thinking=in_thinking)
        async for delta in self._araw_stream_prompt(model, prompt, params):
            chunk = acc.add(delta)
            if chunk is not None:
                yield chunk
        yield acc.finish()

    def health(self, model: str) -> Health:
        return Health(backend=self.name, model=model, available=True)

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        self.close()

    # --- shared public surface ------------------------------------------------------
    def stream(self, request: GenerateRequest) -> Iterator[Chunk]:
        load_ms = self.prepare(request)
        acc = _Accumulator(
            self.name, request.model, in_thinking=self.starts_in_thinking(request), load_ms=load_ms
        )
        for delta in self._raw_stream(request):
            chunk = acc.add(delta)
            if chunk is not None:
                yield chunk
        yield acc.finish()

    def generate(self, request: GenerateRequest) -> GenerateResult:
        return _last_result(self.stream(request))

    async def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        load_ms = await self.aprepare(request)
        acc = _Accumulator(
            self.name, request.model, in_thinking=self.starts_in_thinking(request), load_ms=load_ms
        )
        async for delta in self._araw_stream(request):
            chunk = acc.add(delta)
            if chunk is not None:
                yield chunk
        yield acc.finish()

    async def agenerate(self, request: GenerateRequest) -> GenerateResult:
        result: GenerateResult | None = None
        async for chunk in self.astream(request):
            if chunk.done:
                result = chunk.result
        assert result is not None
        return result


def first_load_ms(loaded: Any) -> float:
    """A shared in-process model's load time, reported by its first request only.

    ``loaded`` has ``load_ms`` and ``load_reported`` (transformers and llama.cpp models).
    """
    if loaded.load_reported:
        return 0.0
    loaded.load_reported = True
    return float(loaded.load_ms)


def _last_result(chunks: Iterator[Chunk]) -> GenerateResult:
    result: GenerateResult | None = None
    for chunk in chunks:
        if chunk.done:
            result = chunk.result
    assert result is not None, "a backend stream must end with a done chunk"
    return result


_DONE = object()


async def _iterate_in_thread(factory: Any) -> AsyncIterator[Any]:
    """Drive a blocking iterator from a worker thread without blocking the loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in factory():
                if stop.is_set():
                    break
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
        except BaseException as exc:  # delivered to the consumer, re-raised there
            asyncio.run_coroutine_threadsafe(queue.put(_Raised(exc)), loop).result()
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(_DONE), loop).result()

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                break
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let the producer finish its current put
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.01)


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

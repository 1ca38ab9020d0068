"""The backend protocols, and the base classes that give every backend the same
streaming, thinking-split, usage and async behaviour.

A backend implements one method, :meth:`BaseBackend._raw_stream`, that yields
:class:`RawDelta` items (text that may contain ``<think>`` tags, or thinking the
server already separated). Everything else — splitting thinking from the answer,
counting tokens, timings, sync/async twins — lives here once, on top of
:mod:`.streaming`.

A backend that can continue an assistant turn from a text prefix implements
:class:`RawContinuation` — the one way the thinking-budget controller resumes after it
closes a thought. :class:`RawPromptBackend` implements it for backends that render the
chat template themselves and can generate from a raw prompt.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar, Protocol, TypeGuard, runtime_checkable

from qwen_router.types import GenerationParams

from .streaming import acollect_stream, afinal_result, collect_stream, final_result
from .types import (
    Capabilities,
    Chunk,
    GenerateRequest,
    GenerateResult,
    Health,
    RawDelta,
)

__all__ = [
    "Backend",
    "BaseBackend",
    "Capabilities",
    "Chunk",
    "GenerateRequest",
    "GenerateResult",
    "Health",
    "NativeThinkingBudget",
    "RawContinuation",
    "RawDelta",
    "RawPromptBackend",
    "PromptSizer",
    "first_load_ms",
    "sizes_prompts",
]

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


@runtime_checkable
class RawContinuation(Protocol):
    """Continue the assistant's turn of ``request`` from ``prefix``, verbatim.

    ``prefix`` starts right after the generation prompt the chat template renders
    (e.g. ``"<think>\\n…thought…\\n</think>\\n\\n"``); the model carries on from its
    last character. ``in_thinking``: the output starts inside an open thought.
    ``can_continue_raw`` says whether this request can be continued (a raw prompt
    carries no images); when it is False the caller asks for a fresh chat turn instead.
    """

    def can_continue_raw(self, request: GenerateRequest) -> bool: ...

    def starts_in_thinking(self, request: GenerateRequest) -> bool: ...

    def continue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> Iterator[Chunk]: ...

    def acontinue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> AsyncIterator[Chunk]: ...


@runtime_checkable
class NativeThinkingBudget(Protocol):
    """A backend whose serving engine enforces ``request.thinking_budget`` itself
    (vLLM's ``thinking_token_budget``); ``native_budget`` is the budget it enforces
    for ``request``, or None. The thinking-budget controller then runs one plain
    pass and reports ``thinking_method: native``."""

    def native_budget(self, request: GenerateRequest) -> int | None: ...


@runtime_checkable
class PromptSizer(Protocol):
    """A backend that can measure a prompt before running it (in-process models).

    ``prompt_size`` is ``(prompt tokens, context tokens)`` for ``request`` rendered
    with the model's chat template, loading the model if needed; ``None`` when the
    backend cannot tell. The server refuses a prompt that does not fit, at once.
    """

    def prompt_size(self, request: GenerateRequest) -> tuple[int, int] | None: ...


def sizes_prompts(backend: object) -> TypeGuard[PromptSizer]:
    """Whether ``backend`` is a :class:`PromptSizer`: the method check the runtime
    protocol makes, without its walk of the protocol's members (the server asks this
    of every request)."""
    return callable(getattr(backend, "prompt_size", None))


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

    def parses_tool_calls(self, request: GenerateRequest) -> bool:
        """Whether tool calls are parsed out of this backend's text (models run
        in-process); a server that parses them itself sends them whole."""
        return False

    async def aprepare(self, request: GenerateRequest) -> float:
        """:meth:`prepare` off the event loop, for backends that load in-process."""
        if type(self).prepare is BaseBackend.prepare:
            return 0.0
        return await asyncio.to_thread(self.prepare, request)

    def health(self, model: str) -> Health:
        return Health(backend=self.name, model=model, available=True)

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        self.close()

    # --- shared public surface ------------------------------------------------------
    def stream(self, request: GenerateRequest) -> Iterator[Chunk]:
        load_ms = self.prepare(request)
        yield from collect_stream(
            self.name,
            request.model,
            self._raw_stream(request),
            in_thinking=self.starts_in_thinking(request),
            load_ms=load_ms,
            tools=request.tools if self.parses_tool_calls(request) else None,
        )

    def generate(self, request: GenerateRequest) -> GenerateResult:
        return final_result(self.stream(request))

    async def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        load_ms = await self.aprepare(request)
        async for chunk in acollect_stream(
            self.name,
            request.model,
            self._araw_stream(request),
            in_thinking=self.starts_in_thinking(request),
            load_ms=load_ms,
            tools=request.tools if self.parses_tool_calls(request) else None,
        ):
            yield chunk

    async def agenerate(self, request: GenerateRequest) -> GenerateResult:
        return await afinal_result(self.astream(request))


class RawPromptBackend(BaseBackend):
    """A backend that renders the chat template itself and generates from raw text.

    Subclasses implement :meth:`render_prompt` and :meth:`_raw_stream_prompt`; this
    class gives them :meth:`stream_prompt` and the :class:`RawContinuation` protocol.
    """

    def render_prompt(self, request: GenerateRequest) -> str:
        """The exact prompt text the model sees for ``request`` (chat template applied)."""
        raise NotImplementedError

    async def arender_prompt(self, request: GenerateRequest) -> str:
        """:meth:`render_prompt` off the event loop (rendering may load a model)."""
        return await asyncio.to_thread(self.render_prompt, request)

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        raise NotImplementedError

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
        yield from collect_stream(
            self.name, model, self._raw_stream_prompt(model, prompt, params), in_thinking=in_thinking
        )

    async def astream_prompt(
        self, model: str, prompt: str, params: GenerationParams, *, in_thinking: bool = False
    ) -> AsyncIterator[Chunk]:
        async for chunk in acollect_stream(
            self.name,
            model,
            self._araw_stream_prompt(model, prompt, params),
            in_thinking=in_thinking,
        ):
            yield chunk

    # --- RawContinuation ------------------------------------------------------------
    def can_continue_raw(self, request: GenerateRequest) -> bool:
        return not any(m.images for m in request.messages)

    def continue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> Iterator[Chunk]:
        prompt = self.render_prompt(request) + prefix
        yield from self.stream_prompt(request.model, prompt, params, in_thinking=in_thinking)

    async def acontinue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> AsyncIterator[Chunk]:
        prompt = await self.arender_prompt(request) + prefix
        async for chunk in self.astream_prompt(
            request.model, prompt, params, in_thinking=in_thinking
        ):
            yield chunk


def first_load_ms(loaded: Any) -> float:
    """A shared in-process model's load time, reported by its first request only.

    ``loaded`` has ``load_ms`` and ``load_reported`` (transformers and llama.cpp models).
    """
    if loaded.load_reported:
        return 0.0
    loaded.load_reported = True
    return float(loaded.load_ms)


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

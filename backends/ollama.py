"""The Ollama backend, through the official ``ollama`` client (sync and async).

Model specs: ``ollama:NAME[:TAG]`` (e.g. ``ollama:qwen3:8b``). Profile options
(``backends.ollama``): ``host`` (default ``OLLAMA_HOST``, then 127.0.0.1:11434),
``keep_alive``, ``timeout`` (seconds), ``options`` (default Ollama options such as
``num_ctx``) and ``think_level`` (a level such as ``"high"`` sent instead of ``true``
for models that take one; a string, or a mapping model -> level).

Thinking: ``GenerateRequest.thinking`` ``None`` sends no ``think``; ``True``/``False``
send it. A model that answers 400 ``does not support thinking`` is remembered, logged
once, and asked again without ``think``. Raw continuation (for the thinking-budget
controller) uses ``/api/generate`` with ``raw: true``; the caller renders ChatML.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import ollama

from qwen_router.errors import BackendError
from qwen_router.types import GenerationParams

from .base import (
    BaseBackend,
    Capabilities,
    Chunk,
    GenerateRequest,
    GenerateResult,
    Health,
    RawDelta,
    _Accumulator,
)
from .ollama_errors import ErrorContext, ThinkingUnsupported, map_errors
from .ollama_wire import ServerStats, format_from, options_from, read_part, to_ollama_messages

__all__ = ["OllamaBackend"]

logger = logging.getLogger(__name__)
DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaBackend(BaseBackend):
    """Chat, streaming or not, on an Ollama server."""

    name: ClassVar[str] = "ollama"
    capabilities = Capabilities(
        vision=True, thinking=True, raw_continuation=True, streaming=True, json_schema=True
    )

    def __init__(
        self,
        *,
        host: str | None = None,
        keep_alive: str | float | None = None,
        timeout: float | None = None,
        options: Mapping[str, Any] | None = None,
        think_level: str | Mapping[str, str] | None = None,
    ) -> None:
        self._host_arg = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self.host = _display_host(self._host_arg)
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.default_options = dict(options or {})
        self.think_level = think_level
        self._no_think: set[str] = set()
        self._lock = threading.Lock()
        self._client: ollama.Client | None = None
        self._aclient: tuple[asyncio.AbstractEventLoop, ollama.AsyncClient] | None = None

    # --- clients ------------------------------------------------------------------
    def _sync(self) -> ollama.Client:
        with self._lock:
            if self._client is None:
                self._client = ollama.Client(host=self._host_arg, timeout=self.timeout)
            return self._client

    def _async(self) -> ollama.AsyncClient:
        loop = asyncio.get_running_loop()  # an httpx.AsyncClient belongs to one loop
        with self._lock:
            if self._aclient is None or self._aclient[0] is not loop:
                self._aclient = (loop, ollama.AsyncClient(host=self._host_arg, timeout=self.timeout))
            return self._aclient[1]

    def _map_errors(self, ctx: ErrorContext) -> AbstractContextManager[None]:
        """Translate ollama / httpx exceptions (see ``ollama_errors.ERROR_TABLE``)."""
        return map_errors(ctx)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        with self._lock:
            pair, self._aclient = self._aclient, None
        if pair is not None and pair[0] is asyncio.get_running_loop():
            await pair[1].close()
        self.close()

    # --- request building (shared by sync and async) --------------------------------
    def _think(self, request: GenerateRequest) -> bool | str | None:
        if request.thinking is None or request.model in self._no_think:
            return None
        if not request.thinking:
            return False
        level = self.think_level
        if isinstance(level, Mapping):
            level = level.get(request.model)
        return level or True

    def _common(self, model: str, params: GenerationParams, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": model, "stream": stream}
        options = options_from(params, self.default_options)
        if options:
            kwargs["options"] = options
        if self.keep_alive is not None:
            kwargs["keep_alive"] = self.keep_alive
        return kwargs

    def _chat_kwargs(self, request: GenerateRequest, *, stream: bool) -> dict[str, Any]:
        kwargs = self._common(request.model, request.params, stream)
        kwargs["messages"] = to_ollama_messages(request.messages)
        if (think := self._think(request)) is not None:
            kwargs["think"] = think
        if (fmt := format_from(request.response_format)) is not None:
            kwargs["format"] = fmt
        return kwargs

    def _raw_kwargs(self, model: str, prompt: str, params: GenerationParams) -> dict[str, Any]:
        return {**self._common(model, params, True), "prompt": prompt, "raw": True}

    def _thinking_rejected(self, model: str, exc: ThinkingUnsupported) -> None:
        with self._lock:
            first = model not in self._no_think
            self._no_think.add(model)
        if first:
            logger.warning(
                "Ollama model %r does not support thinking; retrying and continuing "
                "without `think` for this model (%s)", model, exc.message
            )

    # --- sync I/O -------------------------------------------------------------------
    def _run(self, method: str, kwargs: dict[str, Any], stats: ServerStats) -> Iterator[RawDelta]:
        ctx = ErrorContext(self.host, kwargs["model"])
        with self._map_errors(ctx):
            reply = getattr(self._sync(), method)(**kwargs)
            parts = reply if kwargs["stream"] else iter([reply])
            try:
                for part in parts:
                    ctx.chunks += 1
                    yield read_part(part, stats)
            finally:
                getattr(parts, "close", lambda: None)()

    def _chat(self, request: GenerateRequest, *, stream: bool, stats: ServerStats) -> Iterator[RawDelta]:
        kwargs = self._chat_kwargs(request, stream=stream)
        try:
            yield from self._run("chat", kwargs, stats)
        except ThinkingUnsupported as exc:  # raised before any output
            self._thinking_rejected(request.model, exc)
            kwargs.pop("think", None)
            yield from self._run("chat", kwargs, stats)

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        return self._chat(request, stream=True, stats=ServerStats())

    def _raw_stream_prompt(self, model: str, prompt: str, params: GenerationParams) -> Iterator[RawDelta]:
        return self._run("generate", self._raw_kwargs(model, prompt, params), ServerStats())

    def _collect(
        self, model: str, deltas: Iterator[RawDelta], stats: ServerStats, *, in_thinking: bool = False
    ) -> Iterator[Chunk]:
        acc = _Accumulator(self.name, model, in_thinking=in_thinking)
        for delta in deltas:
            if (chunk := acc.add(delta)) is not None:
                yield chunk
        yield _with_stats(acc.finish(), stats)

    def stream(self, request: GenerateRequest) -> Iterator[Chunk]:
        stats = ServerStats()
        return self._collect(request.model, self._chat(request, stream=True, stats=stats), stats)

    def generate(self, request: GenerateRequest) -> GenerateResult:
        """One non-streaming ``/api/chat`` call."""
        stats = ServerStats()
        chunks = self._collect(request.model, self._chat(request, stream=False, stats=stats), stats)
        return _last(list(chunks))

    def stream_prompt(
        self, model: str, prompt: str, params: GenerationParams, *, in_thinking: bool = False
    ) -> Iterator[Chunk]:
        stats = ServerStats()
        deltas = self._run("generate", self._raw_kwargs(model, prompt, params), stats)
        return self._collect(model, deltas, stats, in_thinking=in_thinking)

    # --- async I/O ------------------------------------------------------------------
    async def _arun(
        self, method: str, kwargs: dict[str, Any], stats: ServerStats
    ) -> AsyncIterator[RawDelta]:
        ctx = ErrorContext(self.host, kwargs["model"])
        with self._map_errors(ctx):
            reply = await getattr(self._async(), method)(**kwargs)
            if not kwargs["stream"]:
                ctx.chunks += 1
                yield read_part(reply, stats)
                return
            try:
                async for part in reply:
                    ctx.chunks += 1
                    yield read_part(part, stats)
            finally:
                await reply.aclose()

    async def _achat(
        self, request: GenerateRequest, *, stream: bool, stats: ServerStats
    ) -> AsyncIterator[RawDelta]:
        kwargs = self._chat_kwargs(request, stream=stream)
        try:
            async for delta in self._arun("chat", kwargs, stats):
                yield delta
            return
        except ThinkingUnsupported as exc:
            self._thinking_rejected(request.model, exc)
            kwargs.pop("think", None)
        async for delta in self._arun("chat", kwargs, stats):
            yield delta

    def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:  # type: ignore[override]
        return self._achat(request, stream=True, stats=ServerStats())

    def _araw_stream_prompt(  # type: ignore[override]
        self, model: str, prompt: str, params: GenerationParams
    ) -> AsyncIterator[RawDelta]:
        return self._arun("generate", self._raw_kwargs(model, prompt, params), ServerStats())

    async def _acollect(
        self, model: str, deltas: AsyncIterator[RawDelta], stats: ServerStats, *, in_thinking: bool = False
    ) -> AsyncIterator[Chunk]:
        acc = _Accumulator(self.name, model, in_thinking=in_thinking)
        async for delta in deltas:
            if (chunk := acc.add(delta)) is not None:
                yield chunk
        yield _with_stats(acc.finish(), stats)

    def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]:  # type: ignore[override]
        stats = ServerStats()
        return self._acollect(request.model, self._achat(request, stream=True, stats=stats), stats)

    async def agenerate(self, request: GenerateRequest) -> GenerateResult:
        stats = ServerStats()
        deltas = self._achat(request, stream=False, stats=stats)
        return _last([chunk async for chunk in self._acollect(request.model, deltas, stats)])

    def astream_prompt(  # type: ignore[override]
        self, model: str, prompt: str, params: GenerationParams, *, in_thinking: bool = False
    ) -> AsyncIterator[Chunk]:
        stats = ServerStats()
        deltas = self._arun("generate", self._raw_kwargs(model, prompt, params), stats)
        return self._acollect(model, deltas, stats, in_thinking=in_thinking)

    # --- models and health ------------------------------------------------------------
    def list_models(self) -> list[str]:
        """Names of the models installed on the server (``/api/tags``).

        Raises:
            BackendUnavailable: the server cannot be reached.
            BackendTimeout: it did not answer in time.
            BackendResponseError: it answered with an error.
        """
        with self._map_errors(ErrorContext(self.host)):
            listing = self._sync().list()
        return [m.model for m in listing.models if m.model]

    async def alist_models(self) -> list[str]:
        """Async twin of :meth:`list_models`.

        Raises:
            BackendError: as :meth:`list_models`.
        """
        with self._map_errors(ErrorContext(self.host)):
            listing = await self._async().list()
        return [m.model for m in listing.models if m.model]

    def model_capabilities(self, model: str) -> list[str]:
        """What ``/api/show`` says the model can do (``completion``, ``vision``, ``thinking``…).

        Raises:
            ModelNotFound: the model is not installed (hint: ``ollama pull``).
            BackendError: the server cannot be reached or failed.
        """
        with self._map_errors(ErrorContext(self.host, model)):
            shown = self._sync().show(model)
        return list(shown.capabilities or [])

    def health(self, model: str) -> Health:
        """Reachable, and ``model`` installed (``/api/tags``). Never raises."""
        try:
            names = self.list_models()
        except BackendError as exc:
            return Health(backend=self.name, model=model, available=False, detail=str(exc))
        if _installed(model, names):
            return Health(backend=self.name, model=model, available=True, detail=f"on {self.host}")
        return Health(
            backend=self.name,
            model=model,
            available=False,
            detail=f"not installed on {self.host}; run `ollama pull {model}`",
        )


def _with_stats(final: Chunk, stats: ServerStats) -> Chunk:
    assert final.result is not None
    return final.model_copy(update={"result": stats.apply(final.result)})


def _last(chunks: list[Chunk]) -> GenerateResult:
    result = chunks[-1].result
    assert result is not None
    return result


def _installed(model: str, names: list[str]) -> bool:
    wanted = {model} if ":" in model else {model, f"{model}:latest"}
    return any(name in wanted for name in names)


def _display_host(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if "://" in host else f"http://{host}"

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
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import ollama
from qwen_router.errors import BackendError, ModelCapabilityError
from qwen_router.types import GenerationParams

from ..base import (
    Capabilities,
    Chunk,
    GenerateRequest,
    GenerateResult,
    Health,
    RawDelta,
    RawPromptBackend,
)
from ..chatml import render_chatml
from ..loop_lifetime import close_with_loop
from ..streaming import afinal_result, final_result
from .errors import ErrorContext, ThinkingUnsupported
from .errors import map_errors as _map_errors  # the one error boundary
from .requests import RequestBuilder
from .wire import (
    ServerStats,
    acollect,
    collect,
    display_host,
    is_installed,
    read_part,
)

__all__ = ["OllamaBackend"]

DEFAULT_HOST = "http://127.0.0.1:11434"


@dataclass(frozen=True, slots=True)
class _LoopClient:
    loop: asyncio.AbstractEventLoop
    client: ollama.AsyncClient
    keeper: AsyncGenerator[None, None]  # closes the client when ``loop`` shuts down


class OllamaBackend(RawPromptBackend):
    """Chat, streaming or not, on an Ollama server."""

    name: ClassVar[str] = "ollama"
    capabilities = Capabilities(
        vision=True,
        thinking=True,
        streaming=True,
        json_schema=True,
        tools=True,
        structured_output="server",
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
        self.host = display_host(self._host_arg)
        self.timeout = timeout
        self.requests = RequestBuilder(keep_alive, dict(options or {}), think_level)
        self._lock = threading.Lock()
        self._client: ollama.Client | None = None
        self._capabilities: dict[str, list[str]] = {}
        # the async client of one loop, with the keeper that closes it when that loop
        # shuts down (see loop_lifetime)
        self._aclient: _LoopClient | None = None

    # --- clients ------------------------------------------------------------------
    def _sync(self) -> ollama.Client:
        with self._lock:
            if self._client is None:
                self._client = ollama.Client(host=self._host_arg, timeout=self.timeout)
            return self._client

    async def _async(self) -> ollama.AsyncClient:
        loop = asyncio.get_running_loop()  # an httpx.AsyncClient belongs to one loop
        current = self._aclient
        if current is None or current.loop is not loop:
            client = ollama.AsyncClient(host=self._host_arg, timeout=self.timeout)
            # starting the keeper does not suspend: no task of this loop runs between
            current = _LoopClient(loop, client, await close_with_loop(client.close))
            with self._lock:
                self._aclient = current
        return current.client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        with self._lock:
            current, self._aclient = self._aclient, None
        if current is not None and current.loop is asyncio.get_running_loop():
            await current.keeper.aclose()  # closes the client
        self.close()

    # --- sync I/O -------------------------------------------------------------------
    def _run(
        self, method: str, kwargs: dict[str, Any], stats: ServerStats
    ) -> Iterator[RawDelta]:
        ctx = ErrorContext(self.host, kwargs["model"])
        with _map_errors(ctx):
            reply = getattr(self._sync(), method)(**kwargs)
            parts = reply if kwargs["stream"] else iter([reply])
            try:
                for part in parts:
                    ctx.chunks += 1
                    yield read_part(part, stats)
            finally:
                getattr(parts, "close", lambda: None)()

    def _vision_unknown(self, request: GenerateRequest) -> bool:
        """Whether :meth:`_require_vision` must ask the server (images, new model)."""
        has_images = any(m.images for m in request.messages)
        return has_images and request.model not in self._capabilities

    def _require_vision(self, request: GenerateRequest) -> None:
        """Images only go to models whose ``/api/show`` lists ``vision``.

        Raises:
            ModelCapabilityError: the model has no vision capability.
        """
        if not any(m.images for m in request.messages):
            return
        caps = self._capabilities.get(request.model)
        if caps is None:
            caps = self._capabilities[request.model] = self.model_capabilities(request.model)
        if "vision" not in caps:
            raise ModelCapabilityError(
                f"model {request.model!r} on {self.host} cannot read images "
                f"(capabilities: {', '.join(caps) or 'none'})",
                hint="route images to a vision model such as ollama:qwen2.5vl",
                backend=self.name,
                model=request.model,
            )

    def _chat(
        self, request: GenerateRequest, stats: ServerStats, *, stream: bool = True
    ) -> Iterator[RawDelta]:
        kwargs = self.requests.chat(request, stream=stream)  # decodes images first
        self._require_vision(request)
        try:
            yield from self._run("chat", kwargs, stats)
        except ThinkingUnsupported as exc:  # a 400, so before any output
            self.requests.thinking_rejected(request.model, exc.message, kwargs)
            yield from self._run("chat", kwargs, stats)

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        return self._chat(request, ServerStats())

    def render_prompt(self, request: GenerateRequest) -> str:
        """Qwen's ChatML for ``request`` (Ollama's ``raw: true`` skips its template)."""
        return render_chatml(request.messages, thinking=request.thinking)

    async def arender_prompt(self, request: GenerateRequest) -> str:
        return self.render_prompt(request)

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        return self._run(
            "generate", self.requests.raw(model, prompt, params), ServerStats()
        )

    def stream(self, request: GenerateRequest) -> Iterator[Chunk]:
        """Stream ``/api/chat``; the last chunk carries Ollama's counters and times.

        Raises:
            BackendUnavailable: the server is not running (the host is named).
            BackendTimeout: no answer within ``timeout``.
            ModelNotFound: the model is not pulled (hint: ``ollama pull NAME``).
            BackendResponseError: an error status, or an ``{"error"}`` line mid-stream
                (no final chunk is yielded then).
            ImageError: an image part that cannot be sent.
        """
        stats = ServerStats()
        yield from collect(self.name, request.model, self._chat(request, stats), stats)

    def generate(self, request: GenerateRequest) -> GenerateResult:
        """One non-streaming ``/api/chat`` call.

        Raises:
            BackendError: as :meth:`stream`.
        """
        stats = ServerStats()
        deltas = self._chat(request, stats, stream=False)
        return final_result(collect(self.name, request.model, deltas, stats))

    def stream_prompt(
        self,
        model: str,
        prompt: str,
        params: GenerationParams,
        *,
        in_thinking: bool = False,
    ) -> Iterator[Chunk]:
        stats = ServerStats()
        deltas = self._run("generate", self.requests.raw(model, prompt, params), stats)
        yield from collect(self.name, model, deltas, stats, in_thinking=in_thinking)

    # --- async I/O: the same steps, awaited -------------------------------------------
    async def _arun(
        self, method: str, kwargs: dict[str, Any], stats: ServerStats
    ) -> AsyncIterator[RawDelta]:
        ctx = ErrorContext(self.host, kwargs["model"])
        with _map_errors(ctx):
            reply = await getattr(await self._async(), method)(**kwargs)
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
        self, request: GenerateRequest, stats: ServerStats, *, stream: bool = True
    ) -> AsyncIterator[RawDelta]:
        kwargs = self.requests.chat(request, stream=stream)
        if self._vision_unknown(request):  # /api/show: blocking I/O, off the loop
            await asyncio.to_thread(self._require_vision, request)
        else:  # no images, or the answer is known: no thread hop
            self._require_vision(request)
        try:
            async for delta in self._arun("chat", kwargs, stats):
                yield delta
            return
        except ThinkingUnsupported as exc:
            self.requests.thinking_rejected(request.model, exc.message, kwargs)
        async for delta in self._arun("chat", kwargs, stats):
            yield delta

    async def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:
        async for delta in self._achat(request, ServerStats()):
            yield delta

    async def _araw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> AsyncIterator[RawDelta]:
        kwargs = self.requests.raw(model, prompt, params)
        async for delta in self._arun("generate", kwargs, ServerStats()):
            yield delta

    async def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        stats = ServerStats()
        deltas = self._achat(request, stats)
        async for chunk in acollect(self.name, request.model, deltas, stats):
            yield chunk

    async def agenerate(self, request: GenerateRequest) -> GenerateResult:
        stats = ServerStats()
        deltas = self._achat(request, stats, stream=False)
        return await afinal_result(acollect(self.name, request.model, deltas, stats))

    async def astream_prompt(
        self,
        model: str,
        prompt: str,
        params: GenerationParams,
        *,
        in_thinking: bool = False,
    ) -> AsyncIterator[Chunk]:
        stats = ServerStats()
        deltas = self._arun("generate", self.requests.raw(model, prompt, params), stats)
        async for chunk in acollect(
            self.name, model, deltas, stats, in_thinking=in_thinking
        ):
            yield chunk

    # --- models and health ------------------------------------------------------------
    def list_models(self) -> list[str]:
        """Names of the models installed on the server (``/api/tags``).

        Raises:
            BackendUnavailable: the server cannot be reached.
            BackendTimeout: it did not answer in time.
            BackendResponseError: it answered with an error.
        """
        with _map_errors(ErrorContext(self.host)):
            listing = self._sync().list()
        return [m.model for m in listing.models if m.model]

    async def alist_models(self) -> list[str]:
        """Async twin of :meth:`list_models`.

        Raises:
            BackendError: as :meth:`list_models`.
        """
        with _map_errors(ErrorContext(self.host)):
            listing = await (await self._async()).list()
        return [m.model for m in listing.models if m.model]

    def model_capabilities(self, model: str) -> list[str]:
        """What ``/api/show`` says the model can do (``completion``, ``thinking``…).

        Raises:
            ModelNotFound: the model is not installed (hint: ``ollama pull``).
            BackendError: the server cannot be reached or failed.
        """
        with _map_errors(ErrorContext(self.host, model)):
            shown = self._sync().show(model)
        return list(shown.capabilities or [])

    def health(self, model: str) -> Health:
        """Reachable, and ``model`` installed (``/api/tags``). Never raises."""
        try:
            names = self.list_models()
        except BackendError as exc:
            return Health(
                backend=self.name, model=model, available=False, detail=str(exc)
            )
        if is_installed(model, names):
            return Health(
                backend=self.name, model=model, available=True, detail=f"on {self.host}"
            )
        return Health(
            backend=self.name,
            model=model,
            available=False,
            detail=f"not installed on {self.host}; run `ollama pull {model}`",
        )

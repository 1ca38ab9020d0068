"""The OpenAI-compatible backend: vLLM, SGLang, TGI, LM Studio or any server that speaks
``/v1/chat/completions``, over HTTP (``.transport``: aiohttp async, httpx sync).

Model spec: ``openai:NAME``, NAME being the server's model id
(``openai:Qwen/Qwen3-8B``).
Profile options (``backends.openai``): ``base_url`` (default ``OPENAI_BASE_URL``, then
vLLM's ``http://127.0.0.1:8000/v1``), ``api_key`` (default ``OPENAI_API_KEY``, then
``"EMPTY"`` as vLLM expects), ``endpoints`` (model -> base URL, for models served by
their own cluster), ``timeout`` (seconds), ``headers`` and ``extra_body`` (sent with
every request). The client never retries: that is the Dispatcher's job.

Thinking: ``reasoning_content`` / ``reasoning`` deltas (vLLM's and SGLang's reasoning
parsers) become thinking; ``<think>`` tags in the content are split as usual.
``GenerateRequest.thinking`` reaches Qwen3's chat template as
``chat_template_kwargs: {enable_thinking}``. ``top_k`` and ``repetition_penalty`` go
in the body as vLLM accepts them. Usage comes from the stream's final chunk
(``stream_options.include_usage``).

Engines (``engine: auto | vllm | sglang | llamacpp | generic``, see ``.engines``):
a request with a thinking budget gets the engine's own budget field where it has
one (vLLM ``thinking_token_budget``); the thinking-budget controller otherwise
continues the answer through :class:`RawContinuation` (``.continuation``), or restarts
on an engine that cannot continue. When a server sends no usage, tokens are counted
locally and the usage is marked ``estimated`` (``.usage``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager, closing
from typing import Any, ClassVar

from qwen_router.backends.token_count import fill_usage
from qwen_router.errors import BackendError, ConfigError

from ..base import BaseBackend
from ..streaming import ResultHook, acollect_stream, collect_stream, final_result
from ..tool_calls import ToolCallAssembler
from ..types import (
    Capabilities,
    Chunk,
    GenerateRequest,
    GenerateResult,
    Health,
    RawDelta,
)
from .continuation import ContinuationMixin
from .engines import ENGINES, Engine, EngineConfig, budget_fields, probe_engine
from .errors import ErrorContext, map_errors
from .transport import AsyncTransport, Endpoint, SyncTransport
from .wire import (
    chunk_deltas,
    completion_delta,
    model_ids,
    response_format,
    sampling,
    tool_fields,
    wire_message,
)

__all__ = ["OpenAIBackend"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_TIMEOUT_S = 300.0
_CHAT_PATH = "/chat/completions"


def _request_body(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: ``extra_body`` merged in, as the openai SDK's ``create`` does."""
    body = {k: v for k, v in kwargs.items() if k != "extra_body"}
    body.update(kwargs.get("extra_body") or {})
    return body


class OpenAIBackend(ContinuationMixin, BaseBackend):
    """Chat, streaming or not, on any OpenAI-compatible ``/v1/chat/completions``
    server; continuation of a partial answer with ``continue_assistant``."""

    name: ClassVar[str] = "openai"
    capabilities = Capabilities(
        vision=True,
        thinking=True,
        streaming=True,
        json_schema=True,
        tools=True,
        tool_choice_required=True,
        structured_output="server",
    )

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        endpoints: Mapping[str, str] | None = None,
        engine: str = "auto",
        reasoning_budget: int | None = None,
        strict_thinking: bool = False,
    ) -> None:
        if engine not in ENGINES:
            raise ConfigError(
                f"backends.openai.engine: unknown engine {engine!r}",
                hint=f"engines: {', '.join(ENGINES)}",
            )
        self.engine = EngineConfig(engine, reasoning_budget, strict_thinking)
        self._engines: dict[str, Engine] = {}
        self.no_continue: set[str] = set()
        # Environment defaults read here until qwen_router.settings owns them.
        base = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = base.rstrip("/")
        self.endpoints = {m: url.rstrip("/") for m, url in (endpoints or {}).items()}
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.extra_body = dict(extra_body or {})
        self._lock = threading.Lock()
        self._clients: dict[str, SyncTransport] = {}
        self._aclients: dict[str, tuple[asyncio.AbstractEventLoop, AsyncTransport]] = {}

    def url_for(self, model: str | None) -> str:
        """The base URL serving ``model``: its ``endpoints`` entry or ``base_url``."""
        return self.endpoints.get(model, self.base_url) if model else self.base_url

    # --- the engine behind each base URL -------------------------------------------
    def engine_for(self, model: str) -> Engine:
        """The declared engine, or the probed one for ``model``'s base URL (cached).

        Raises:
            Nothing: a failed probe means ``generic``.
        """
        if self.engine.engine != "auto":
            return self.engine.engine  # type: ignore[return-value]
        url = self.url_for(model)
        with self._lock:
            known = self._engines.get(url)
        if known is None:
            known = probe_engine(url, headers=self.headers or None)
            with self._lock:
                self._engines[url] = known
        return known

    def native_budget(self, request: GenerateRequest) -> int | None:
        """The thinking budget the engine enforces itself for ``request``, or None.

        Raises:
            Nothing.
        """
        if not request.thinking or request.thinking_budget is None:
            return None
        return self.engine.native_budget(
            self.engine_for(request.model), request.thinking_budget
        )

    def prepare(self, request: GenerateRequest) -> float:
        """Probe the engine once, before a budgeted request needs to know it."""
        if request.thinking_budget is not None:
            self.engine_for(request.model)
        return 0.0

    async def aprepare(self, request: GenerateRequest) -> float:
        """The probe in a worker thread, only when it has to run: every other request
        starts at once, not after a thread hop."""
        if request.thinking_budget is None or self._engine_known(request.model):
            return 0.0
        return await super().aprepare(request)

    def _engine_known(self, model: str) -> bool:
        return self.engine.engine != "auto" or self.url_for(model) in self._engines

    def _finish_hook(self, request: GenerateRequest) -> ResultHook:
        """Count the prompt locally when the server sent no usage; mark a natively
        enforced budget."""
        native = self.native_budget(request)

        def finish(result: GenerateResult) -> GenerateResult:
            update: dict[str, Any] = {}
            if not result.usage.prompt_tokens:
                completion = (result.thinking or "") + result.text
                update["usage"] = fill_usage(
                    result.usage, request.model, request.messages, completion
                )
            if native is not None:
                thought = (update.get("usage") or result.usage).thinking_tokens
                update["thinking_method"] = "native"
                update["budget_hit"] = bool(result.thinking) and thought >= native
            return result.model_copy(update=update) if update else result

        return finish

    # --- clients (one per base URL) ---------------------------------------------------
    def _endpoint(self, url: str) -> Endpoint:
        return Endpoint(url, self._api_key, self.timeout, self.headers)

    def _sync(self, url: str) -> SyncTransport:
        with self._lock:
            if url not in self._clients:
                self._clients[url] = SyncTransport(self._endpoint(url))
            return self._clients[url]

    async def _async(self, url: str) -> AsyncTransport:
        loop = asyncio.get_running_loop()  # an async HTTP client belongs to one loop
        with self._lock:
            pair = self._aclients.get(url)
        if pair is None or pair[0] is not loop:  # open() never suspends: no race
            pair = (loop, await AsyncTransport.open(self._endpoint(url)))
            with self._lock:
                self._aclients[url] = pair
        return pair[1]

    def _map_errors(self, ctx: ErrorContext) -> AbstractContextManager[None]:
        """Translate the exchange's failures (``openai_compat.errors.ERROR_TABLE``)."""
        return map_errors(ctx)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            pairs, self._aclients = list(self._aclients.values()), {}
        for owner, client in pairs:
            if owner is loop:
                await client.close()
        self.close()

    # --- request building (shared by sync and async) --------------------------------
    def _chat_kwargs(self, request: GenerateRequest, *, stream: bool) -> dict[str, Any]:
        extra: dict[str, Any] = dict(self.extra_body)
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [wire_message(m, i) for i, m in enumerate(request.messages)],
            "stream": stream,
            **sampling(request.params, extra),
        }
        if request.thinking is not None:
            template = dict(extra.get("chat_template_kwargs") or {})
            extra["chat_template_kwargs"] = {
                **template,
                "enable_thinking": request.thinking,
            }
        if request.response_format is not None:
            kwargs["response_format"] = response_format(request.response_format)
        kwargs.update(tool_fields(request))
        native = self.native_budget(request)
        if native is not None:
            extra.update(budget_fields(self.engine_for(request.model), native))
        if stream:
            kwargs["stream_options"] = {"include_usage": True}
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    # --- sync I/O -------------------------------------------------------------------
    def _deltas(self, kwargs: dict[str, Any]) -> Iterator[RawDelta]:
        ctx = ErrorContext(self.url_for(kwargs["model"]), kwargs["model"])
        with self._map_errors(ctx):
            transport, body = self._sync(ctx.base_url), _request_body(kwargs)
            if not kwargs["stream"]:
                yield completion_delta(transport.post_json(_CHAT_PATH, body))
                return
            calls = ToolCallAssembler()
            with closing(transport.events(_CHAT_PATH, body)) as events:
                for event in events:
                    ctx.chunks += 1
                    yield from chunk_deltas(event, calls)

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        return self._deltas(self._chat_kwargs(request, stream=True))

    def stream(self, request: GenerateRequest) -> Iterator[Chunk]:
        """Stream ``/chat/completions`` (usage requested; counted when absent).

        Raises:
            BackendError: as the error map says (see ``map_errors``).
        """
        self.prepare(request)
        deltas = self._raw_stream(request)
        yield from collect_stream(
            self.name, request.model, deltas, on_result=self._finish_hook(request)
        )

    def generate(self, request: GenerateRequest) -> GenerateResult:
        """One non-streaming ``/chat/completions`` call.

        Raises:
            BackendError: as the error map says (see ``map_errors``).
        """
        self.prepare(request)
        deltas = self._deltas(self._chat_kwargs(request, stream=False))
        return final_result(
            collect_stream(
                self.name, request.model, deltas, on_result=self._finish_hook(request)
            )
        )

    # --- async I/O ------------------------------------------------------------------
    async def _adeltas(self, kwargs: dict[str, Any]) -> AsyncIterator[RawDelta]:
        ctx = ErrorContext(self.url_for(kwargs["model"]), kwargs["model"])
        with self._map_errors(ctx):
            transport, body = await self._async(ctx.base_url), _request_body(kwargs)
            if not kwargs["stream"]:
                yield completion_delta(await transport.post_json(_CHAT_PATH, body))
                return
            calls = ToolCallAssembler()
            events = transport.events(_CHAT_PATH, body)
            try:
                async for event in events:
                    ctx.chunks += 1
                    for delta in chunk_deltas(event, calls):
                        yield delta
            finally:
                await events.aclose()  # type: ignore[attr-defined]

    def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:  # type: ignore[override]
        return self._adeltas(self._chat_kwargs(request, stream=True))

    async def astream(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`stream`.

        Raises:
            BackendError: as :meth:`stream`.
        """
        await self.aprepare(request)
        hook = self._finish_hook(request)
        async for chunk in acollect_stream(
            self.name, request.model, self._araw_stream(request), on_result=hook
        ):
            yield chunk

    async def agenerate(self, request: GenerateRequest) -> GenerateResult:
        """Async twin of :meth:`generate`.

        Raises:
            BackendError: as :meth:`generate`.
        """
        await self.aprepare(request)
        hook = self._finish_hook(request)
        deltas = self._adeltas(self._chat_kwargs(request, stream=False))
        chunks = [
            c
            async for c in acollect_stream(
                self.name, request.model, deltas, on_result=hook
            )
        ]
        return final_result(iter(chunks))

    # --- models and health ------------------------------------------------------------
    def list_models(self, base_url: str | None = None) -> list[str]:
        """The model ids ``base_url`` (default: ``self.base_url``) lists at ``/models``.

        Raises:
            BackendUnavailable: the server cannot be reached.
            BackendTimeout: it did not answer in time.
            BackendResponseError: it answered with an error (401: a bad key).
        """
        url = base_url or self.base_url
        with self._map_errors(ErrorContext(url)):
            return model_ids(self._sync(url).get_json("/models"))

    async def alist_models(self, base_url: str | None = None) -> list[str]:
        """Async twin of :meth:`list_models`.

        Raises:
            BackendError: as :meth:`list_models`.
        """
        url = base_url or self.base_url
        with self._map_errors(ErrorContext(url)):
            transport = await self._async(url)
            return model_ids(await transport.get_json("/models"))

    def health(self, model: str) -> Health:
        """Reachable, and ``model`` listed by its server's ``/models``. Never raises.

        Raises:
            Nothing: failures are reported in ``Health.detail``.
        """
        url = self.url_for(model)
        try:
            names = self.list_models(url)
        except BackendError as exc:
            return Health(
                backend=self.name, model=model, available=False, detail=str(exc)
            )
        if model in names:
            return Health(backend=self.name, model=model, available=True, detail=url)
        listed = ", ".join(names[:5]) or "none"
        return Health(
            backend=self.name,
            model=model,
            available=False,
            detail=f"{url} does not serve {model!r} (it serves: {listed})",
        )

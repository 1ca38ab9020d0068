"""Continuing the final assistant message on an OpenAI-compatible server: this
backend's :class:`~qwen_router.backends.base.RawContinuation`.

The server, not qwen-router, applies the chat template, so instead of a raw prompt we
send the messages plus a final assistant message holding the partial text, with
``continue_final_message: true, add_generation_prompt: false`` (vLLM's API; SGLang
accepts the same). After ``"<think>\\n…thought so far…\\n</think>\\n\\n"`` the model
writes the answer.

Which engines can (see :mod:`.engines`): vLLM and SGLang are trusted; a llama.cpp
engine cannot (``can_continue_raw`` is False, the controller restarts); any other is
checked with ``echo: true`` (:mod:`.echo`) and, when it answered with a fresh reply,
remembered as one that cannot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from qwen_router.types import GenerationParams, Message

from ..streaming import acollect_stream, collect_stream
from ..types import Chunk, GenerateRequest, RawDelta
from .echo import astrip_echo, strip_echo
from .engines import Engine, EngineConfig
from .wire import open_thought

__all__ = ["ContinuationMixin"]

_NAME = "openai"


class ContinuationMixin:
    """``continue_assistant`` and the :class:`RawContinuation` protocol."""

    no_continue: set[str]

    def url_for(self, model: str | None) -> str:
        raise NotImplementedError

    def engine_for(self, model: str) -> Engine:
        raise NotImplementedError

    def _chat_kwargs(self, request: GenerateRequest, *, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def _deltas(self, kwargs: dict[str, Any]) -> Iterator[RawDelta]:
        raise NotImplementedError

    def _adeltas(self, kwargs: dict[str, Any]) -> AsyncIterator[RawDelta]:
        raise NotImplementedError

    def _finish_hook(self, request: GenerateRequest) -> Any:
        raise NotImplementedError

    # --- RawContinuation --------------------------------------------------------------
    def starts_in_thinking(self, request: GenerateRequest) -> bool:
        """A continued message is rendered as it is: no template-opened thought."""
        return False

    def can_continue_raw(self, request: GenerateRequest) -> bool:
        """False for llama.cpp engines and servers seen ignoring continuations.

        Raises:
            Nothing: an engine probe that fails means ``generic`` (checked by echo).
        """
        if self.url_for(request.model) in self.no_continue:
            return False
        return EngineConfig.continues(self.engine_for(request.model)) is not False

    def continue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> Iterator[Chunk]:
        """Continue ``request``'s assistant turn from ``prefix`` (streamed).

        Raises:
            ContinuationUnsupported: the server answered with a fresh reply.
            BackendError: as the error map says.
        """
        return self.continue_assistant(
            request.model,
            request.messages,
            prefix,
            params,
            thinking=request.thinking,
            in_thinking=in_thinking,
        )

    def acontinue_raw(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`continue_raw`.

        Raises:
            ContinuationUnsupported: the server answered with a fresh reply.
            BackendError: as the error map says.
        """
        return self.acontinue_assistant(
            request.model,
            request.messages,
            prefix,
            params,
            thinking=request.thinking,
            in_thinking=in_thinking,
        )

    # --- the call itself --------------------------------------------------------------
    def _continue_request(
        self,
        model: str,
        messages: Sequence[Message],
        partial: str,
        params: GenerationParams,
        thinking: bool | None,
        in_thinking: bool | None,
    ) -> tuple[GenerateRequest, dict[str, Any], bool, bool]:
        """The request, its kwargs, whether output starts in a thought, and whether
        the echo must be checked."""
        final = Message(role="assistant", content=partial)
        request = GenerateRequest(
            model=model, messages=[*messages, final], params=params, thinking=thinking
        )
        kwargs = self._chat_kwargs(request, stream=True)
        check = EngineConfig.continues(self.engine_for(model)) is None
        kwargs["extra_body"] = {
            **kwargs.get("extra_body", {}),
            "continue_final_message": True,
            "add_generation_prompt": False,
            **({"echo": True} if check else {}),
        }
        opened = open_thought(partial) if in_thinking is None else in_thinking
        return request, kwargs, opened, check

    def _checked(
        self, model: str, deltas: Iterator[RawDelta], partial: str
    ) -> Iterator[RawDelta]:
        url = self.url_for(model)
        try:
            yield from strip_echo(deltas, partial, where=url)
        except Exception:
            self.no_continue.add(url)
            raise

    async def _achecked(
        self, model: str, deltas: AsyncIterator[RawDelta], partial: str
    ) -> AsyncIterator[RawDelta]:
        url = self.url_for(model)
        try:
            async for delta in astrip_echo(deltas, partial, where=url):
                yield delta
        except Exception:
            self.no_continue.add(url)
            raise

    def continue_assistant(
        self,
        model: str,
        messages: Sequence[Message],
        partial_assistant_text: str,
        params: GenerationParams,
        *,
        thinking: bool | None = None,
        in_thinking: bool | None = None,
    ) -> Iterator[Chunk]:
        """Continue the final assistant message ``partial_assistant_text`` (streamed).

        ``in_thinking`` defaults to whether the partial text leaves ``<think>`` open.

        Raises:
            ContinuationUnsupported: the server answered with a fresh reply.
            BackendError: as the error map says; a server that does not know
                ``continue_final_message`` may answer 400 (BackendResponseError).
        """
        request, kwargs, opened, check = self._continue_request(
            model, messages, partial_assistant_text, params, thinking, in_thinking
        )
        deltas = self._deltas(kwargs)
        if check:
            deltas = self._checked(model, deltas, partial_assistant_text)
        return collect_stream(
            _NAME,
            model,
            deltas,
            in_thinking=opened,
            on_result=self._finish_hook(request),
        )

    def acontinue_assistant(
        self,
        model: str,
        messages: Sequence[Message],
        partial_assistant_text: str,
        params: GenerationParams,
        *,
        thinking: bool | None = None,
        in_thinking: bool | None = None,
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`continue_assistant`.

        Raises:
            BackendError: as :meth:`continue_assistant`.
        """
        request, kwargs, opened, check = self._continue_request(
            model, messages, partial_assistant_text, params, thinking, in_thinking
        )
        deltas = self._adeltas(kwargs)
        if check:
            deltas = self._achecked(model, deltas, partial_assistant_text)
        return acollect_stream(
            _NAME,
            model,
            deltas,
            in_thinking=opened,
            on_result=self._finish_hook(request),
        )

"""Continuing the final assistant message on an OpenAI-compatible server.

This is the raw continuation the thinking-budget controller uses on this backend
(``tools/thinking_continuation.py`` calls :meth:`stream_continuation`): the server,
not qwen-router, applies the chat template, so instead of a raw prompt we send the
messages plus a final assistant message holding the partial text, with
``continue_final_message: true, add_generation_prompt: false`` — vLLM's API (SGLang
accepts the same). The server renders the template without closing that turn and
the model carries on from the partial text, e.g. after
``"<think>\\n…thought so far…\\n</think>\\n\\n"`` it writes the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from qwen_router.types import GenerationParams, Message

from .base import Chunk, GenerateRequest, RawDelta
from .openai_compat_wire import acollect, collect, open_thought

__all__ = ["ContinuationMixin"]


class ContinuationMixin:
    """``continue_assistant`` and the controller's hooks, for :class:`OpenAIBackend`."""

    def _chat_kwargs(self, request: GenerateRequest, *, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def _deltas(self, kwargs: dict[str, Any]) -> Iterator[RawDelta]:
        raise NotImplementedError

    def _adeltas(self, kwargs: dict[str, Any]) -> AsyncIterator[RawDelta]:
        raise NotImplementedError

    def _continue_kwargs(
        self,
        model: str,
        messages: Sequence[Message],
        partial: str,
        params: GenerationParams,
        thinking: bool | None,
        in_thinking: bool | None,
    ) -> tuple[dict[str, Any], bool]:
        """The continuation request, and whether its output starts inside a thought."""
        final = Message(role="assistant", content=partial)
        request = GenerateRequest(
            model=model, messages=[*messages, final], params=params, thinking=thinking
        )
        kwargs = self._chat_kwargs(request, stream=True)
        kwargs["extra_body"] = {
            **kwargs.get("extra_body", {}),
            "continue_final_message": True,
            "add_generation_prompt": False,
        }
        return kwargs, open_thought(partial) if in_thinking is None else in_thinking

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

        Sends ``messages`` plus an assistant message holding the partial text, with
        ``continue_final_message: true, add_generation_prompt: false`` (vLLM's API;
        the server renders the chat template without closing that turn). This is the
        raw continuation the thinking-budget controller uses on this backend: give it
        ``"<think>\\n...thought so far...\\n</think>\\n\\n"`` and the model answers.
        ``in_thinking`` defaults to whether the partial text leaves a ``<think>`` open.

        Raises:
            BackendError: as the error map says; a server that does not know
                ``continue_final_message`` may answer 400 (BackendResponseError).
        """
        kwargs, opened = self._continue_kwargs(
            model, messages, partial_assistant_text, params, thinking, in_thinking
        )
        return collect(model, self._deltas(kwargs), in_thinking=opened)

    def stream_continuation(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> Iterator[Chunk]:
        """The thinking-budget controller's hook: :meth:`continue_assistant` on
        ``request``'s messages and thinking flag.

        Raises:
            BackendError: as :meth:`continue_assistant`.
        """
        return self.continue_assistant(
            request.model,
            request.messages,
            prefix,
            params,
            thinking=request.thinking,
            in_thinking=in_thinking,
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
        kwargs, opened = self._continue_kwargs(
            model, messages, partial_assistant_text, params, thinking, in_thinking
        )
        return acollect(model, self._adeltas(kwargs), in_thinking=opened)

    def astream_continuation(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`stream_continuation`.

        Raises:
            BackendError: as :meth:`continue_assistant`.
        """
        return self.acontinue_assistant(
            request.model,
            request.messages,
            prefix,
            params,
            thinking=request.thinking,
            in_thinking=in_thinking,
        )

"""How the thinking-budget controller continues an assistant turn on a backend.

One question is asked of a backend, through one protocol
(:class:`~qwen_router.backends.base.RawContinuation`): "continue the assistant's turn
from this text prefix". ``prefix`` starts right after the generation prompt, e.g.
``"<think>\\n…thought…\\n</think>\\n\\n"``. A backend that cannot do it for a request
(``can_continue_raw`` is False: images in a raw prompt, an engine that ignores
``continue_final_message``) gets a fresh chat call instead: the *restart* method.

A backend may also find out only while continuing that it cannot (an OpenAI-compatible
server that answered with a fresh reply instead of continuing); it raises
:class:`~qwen_router.errors.ContinuationUnsupported` before yielding anything and the
controller restarts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Literal

from qwen_router.backends.base import Backend, Chunk, GenerateRequest, RawContinuation
from qwen_router.types import GenerationParams

__all__ = ["ContinuationKind", "Continuer", "continuation_kind"]

ContinuationKind = Literal["raw", "chat"]


def continuation_kind(backend: Backend, request: GenerateRequest) -> ContinuationKind:
    """``raw`` when ``backend`` continues ``request``, ``chat`` (restart) when not.

    Raises:
        Nothing.
    """
    if isinstance(backend, RawContinuation) and backend.can_continue_raw(request):
        return "raw"
    return "chat"


class Continuer:
    """Continue one request's assistant turn on one backend, sync or async."""

    def __init__(self, backend: Backend, request: GenerateRequest) -> None:
        self.backend = backend
        self.request = request
        self.kind = continuation_kind(backend, request)

    def opened_by_template(self) -> bool:
        """Whether the generation prompt already opened ``<think>`` (Thinking-2507)."""
        if self.kind != "raw":
            return False
        backend: RawContinuation = self.backend  # type: ignore[assignment]
        return bool(backend.starts_in_thinking(self.request))

    def restart(self) -> None:
        """The backend turned out not to continue: every later pass is a chat call."""
        self.kind = "chat"

    def stream(
        self,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
        chat_thinking: bool,
    ) -> Iterator[Chunk]:
        """Chunks of the continuation of ``prefix`` (``chat``: a fresh chat call).

        Raises:
            RouterError: whatever the backend raises.
        """
        if self.kind == "raw":
            backend: RawContinuation = self.backend  # type: ignore[assignment]
            return backend.continue_raw(
                self.request, prefix, params, in_thinking=in_thinking
            )
        return self.backend.stream(self._chat_request(params, chat_thinking))

    def astream(
        self,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
        chat_thinking: bool,
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`stream`.

        Raises:
            RouterError: whatever the backend raises.
        """
        if self.kind == "raw":
            backend: RawContinuation = self.backend  # type: ignore[assignment]
            return backend.acontinue_raw(
                self.request, prefix, params, in_thinking=in_thinking
            )
        return self.backend.astream(self._chat_request(params, chat_thinking))

    def _chat_request(
        self, params: GenerationParams, thinking: bool
    ) -> GenerateRequest:
        return self.request.model_copy(
            update={"params": params, "thinking": thinking, "thinking_budget": None}
        )

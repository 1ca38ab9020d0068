"""How the thinking-budget controller continues an assistant turn on each backend.

The controller only ever asks one thing of a backend: "continue the assistant's turn
from this text prefix" (``prefix`` starts right after the rendered generation prompt,
e.g. ``"<think>\\n…thought…\\n</think>\\n\\n"``). Three ways to do that, best first:

1. ``prefix`` hook — a backend with ``stream_continuation(request, prefix, params, *,
   in_thinking)`` (and ``astream_continuation``) continues the final assistant message
   itself. This is the hook an OpenAI-compatible backend implements (vLLM / SGLang:
   ``messages + [{"role": "assistant", "content": prefix}]`` with
   ``continue_final_message=True, add_generation_prompt=False``).
2. ``raw`` — a backend with ``capabilities.raw_continuation`` continues a raw prompt
   through ``stream_prompt`` / ``astream_prompt``. The prompt is the backend's own
   ``render_prompt(request)`` (transformers: the model's chat template with
   ``enable_thinking``) or, for backends without one (Ollama ``raw: true``), Qwen's
   ChatML rendered here by :func:`render_chatml`.
3. ``chat`` — anything else: no continuation. The controller then caps the thought
   with ``max_tokens`` and, when it did not close, asks again in non-thinking mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, Protocol, runtime_checkable

from qwen_router.backends.base import Backend, Chunk, GenerateRequest
from qwen_router.thinking import THINK_CLOSE, THINK_OPEN
from qwen_router.types import GenerationParams, Message

__all__ = [
    "ContinuationBackend",
    "ContinuationKind",
    "Continuer",
    "continuation_kind",
    "render_chatml",
]

ContinuationKind = Literal["prefix", "raw", "chat"]


@runtime_checkable
class ContinuationBackend(Protocol):
    """The hook a backend implements to continue the final assistant message."""

    def stream_continuation(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> Iterator[Chunk]: ...

    def astream_continuation(
        self,
        request: GenerateRequest,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
    ) -> AsyncIterator[Chunk]: ...


def continuation_kind(backend: Backend, request: GenerateRequest) -> ContinuationKind:
    """Which of the three ways ``backend`` continues ``request``.

    Raises:
        Nothing.
    """
    if isinstance(backend, ContinuationBackend):
        return "prefix"
    if backend.capabilities.raw_continuation and not any(
        m.images for m in request.messages
    ):
        return "raw"
    return "chat"


def render_chatml(messages: list[Message], *, thinking: bool | None) -> str:
    """Qwen3's chat template as plain ChatML, ending with the generation prompt.

    Earlier assistant turns lose their thinking; tool results become user turns with
    ``<tool_response>``; ``thinking=False`` pre-fills an empty thought like
    ``enable_thinking=False`` does.

    Raises:
        Nothing.
    """
    parts: list[str] = []
    for message in messages:
        content = message.text
        if message.role == "assistant" and THINK_CLOSE in content:
            content = content.split(THINK_CLOSE)[-1].lstrip("\n")
        if message.role == "tool":
            parts.append(
                f"<|im_start|>user\n<tool_response>\n{content}\n</tool_response><|im_end|>\n"
            )
            continue
        parts.append(f"<|im_start|>{message.role}\n{content}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    if thinking is False:
        parts.append(f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n")
    return "".join(parts)


class Continuer:
    """Continue one request's assistant turn on one backend, sync or async."""

    def __init__(self, backend: Backend, request: GenerateRequest) -> None:
        self.backend = backend
        self.request = request
        self.kind = continuation_kind(backend, request)
        self.prompt = ""

    def render(self) -> str:
        """Render (once) the prompt the continuation starts from; may load the model.

        Raises:
            RouterError: the backend failed to render (e.g. no chat template).
        """
        if self.kind != "raw" or self.prompt:
            return self.prompt
        render = getattr(self.backend, "render_prompt", None)
        try:
            if render is None:
                raise NotImplementedError
            self.prompt = str(render(self.request))
        except NotImplementedError:  # Ollama and others: Qwen's ChatML, rendered here
            self.prompt = render_chatml(
                self.request.messages, thinking=self.request.thinking
            )
        return self.prompt

    def opened_by_template(self) -> bool:
        """Whether the rendered prompt already opened ``<think>`` (Thinking-2507)."""
        return self.kind == "raw" and self.render().rstrip().endswith(THINK_OPEN)

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
        if self.kind == "prefix":
            backend: Any = self.backend
            return backend.stream_continuation(  # type: ignore[no-any-return]
                self.request, prefix, params, in_thinking=in_thinking
            )
        if self.kind == "raw":
            backend = self.backend
            return backend.stream_prompt(  # type: ignore[no-any-return]
                self.request.model,
                self.render() + prefix,
                params,
                in_thinking=in_thinking,
            )
        return self.backend.stream(self._chat_request(params, chat_thinking))

    async def arender(self) -> str:
        """Async twin of :meth:`render` (rendering may load a model: run in a thread).

        Raises:
            RouterError: as :meth:`render`.
        """
        if self.kind == "raw" and not self.prompt:
            await asyncio.to_thread(self.render)
        return self.prompt

    def astream(
        self,
        prefix: str,
        params: GenerationParams,
        *,
        in_thinking: bool,
        chat_thinking: bool,
    ) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`stream`; call :meth:`arender` first.

        Raises:
            RouterError: whatever the backend raises.
        """
        backend: Any = self.backend
        if self.kind == "prefix":
            return backend.astream_continuation(  # type: ignore[no-any-return]
                self.request, prefix, params, in_thinking=in_thinking
            )
        if self.kind == "raw":
            return backend.astream_prompt(  # type: ignore[no-any-return]
                self.request.model,
                self.prompt + prefix,
                params,
                in_thinking=in_thinking,
            )
        return self.backend.astream(self._chat_request(params, chat_thinking))

    def _chat_request(
        self, params: GenerationParams, thinking: bool
    ) -> GenerateRequest:
        return self.request.model_copy(
            update={"params": params, "thinking": thinking, "thinking_budget": None}
        )

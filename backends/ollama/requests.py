"""Arguments for ``/api/chat`` and ``/api/generate``, shared by sync and async.

The only state is the set of models that rejected ``think`` (HTTP 400), so that later
requests to them leave it out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwen_router.errors import ModelCapabilityError
from qwen_router.types import GenerationParams

from ..base import GenerateRequest
from ..tool_templates import template_tools
from .wire import format_from, options_from, to_ollama_messages

__all__ = ["RequestBuilder"]

logger = logging.getLogger("qwen_router.backends.ollama")


@dataclass
class RequestBuilder:
    """Keyword arguments for the ollama client's ``chat`` / ``generate``."""

    keep_alive: str | float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    think_level: str | Mapping[str, str] | None = None
    no_think: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def think(self, request: GenerateRequest) -> bool | str | None:
        """``None`` -> not sent; ``True`` may become a level such as ``"high"``."""
        if request.thinking is None or request.model in self.no_think:
            return None
        if not request.thinking:
            return False
        level = self.think_level
        if isinstance(level, Mapping):
            level = level.get(request.model)
        return level or True

    def _common(
        self, model: str, params: GenerationParams, stream: bool
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": model, "stream": stream}
        if options := options_from(params, self.options):
            kwargs["options"] = options
        if self.keep_alive is not None:
            kwargs["keep_alive"] = self.keep_alive
        return kwargs

    def chat(self, request: GenerateRequest, *, stream: bool) -> dict[str, Any]:
        """Arguments for ``client.chat``.

        Raises:
            ImageError: an image part that cannot be encoded.
        """
        kwargs = self._common(request.model, request.params, stream)
        kwargs["messages"] = to_ollama_messages(request.messages)
        if (think := self.think(request)) is not None:
            kwargs["think"] = think
        if (fmt := format_from(request.response_format)) is not None:
            kwargs["format"] = fmt
        if request.tools:
            if request.tool_choice == "required":
                raise ModelCapabilityError(
                    "Ollama cannot force a tool call (tool_choice 'required')",
                    hint="use tool_choice 'auto' or name the function",
                    backend="ollama",
                    model=request.model,
                )
            kwargs["tools"] = template_tools(request.tools)
        return kwargs

    def raw(self, model: str, prompt: str, params: GenerationParams) -> dict[str, Any]:
        """Arguments for ``client.generate`` continuing ``prompt`` verbatim."""
        return {**self._common(model, params, True), "prompt": prompt, "raw": True}

    def thinking_rejected(
        self, model: str, reason: str, kwargs: dict[str, Any]
    ) -> None:
        """Remember that ``model`` takes no ``think``; drop it from ``kwargs``."""
        kwargs.pop("think", None)
        with self._lock:
            first = model not in self.no_think
            self.no_think.add(model)
        if first:
            logger.warning(
                "Ollama model %r does not support thinking (%s); "
                "asking again, and from now on, without `think`",
                model,
                reason,
            )

"""The OpenAI-compatible backend (vLLM, SGLang, llama.cpp server, any
``/v1/chat/completions`` server): :class:`~.backend.OpenAIBackend`."""

from __future__ import annotations

from .backend import OpenAIBackend

__all__ = ["OpenAIBackend"]

"""The in-process llama.cpp backend (``llamacpp:`` GGUF files):
:class:`~.backend.LlamaCppBackend`. ``llama_cpp`` loads on first use."""

from __future__ import annotations

from .backend import LlamaCppBackend, llama_cpp_available

__all__ = ["LlamaCppBackend", "llama_cpp_available"]

"""The Ollama backend (``ollama:`` model names on an Ollama server):
:class:`~.backend.OllamaBackend`."""

from __future__ import annotations

from .backend import OllamaBackend

__all__ = ["OllamaBackend"]

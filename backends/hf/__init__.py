"""The transformers backend (``hf:`` folders and hub ids, ``gguf:`` files):
:class:`~.backend.HFBackend`. torch and transformers load on first use."""

from __future__ import annotations

from .backend import HFBackend

__all__ = ["HFBackend"]

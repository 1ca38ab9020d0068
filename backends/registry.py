"""Backend names to implementations, imported lazily, and a per-process pool of them."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from qwen_router.errors import BackendUnavailable, ConfigError

from .base import Backend

__all__ = ["BACKENDS", "BackendPool", "backend_installed", "create_backend"]

# spec prefix -> ("module:Class", constructor defaults, pip extra)
BACKENDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "hf": ("qwen_router.backends.hf:HFBackend", {"kind": "hf"}, "hf"),
    "gguf": ("qwen_router.backends.hf:HFBackend", {"kind": "gguf"}, "hf"),
    "ollama": ("qwen_router.backends.ollama:OllamaBackend", {}, "ollama"),
    "openai": ("qwen_router.backends.openai_compat:OpenAIBackend", {}, "openai"),
    "llamacpp": ("qwen_router.backends.llamacpp:LlamaCppBackend", {}, "llamacpp"),
    "fake": ("qwen_router.backends.fake:FakeBackend", {}, ""),
}


# backend -> modules it cannot run without (probed with find_spec, never imported)
_REQUIRES: dict[str, tuple[str, ...]] = {
    "hf": ("torch", "transformers"),
    "gguf": ("torch", "transformers"),
    "llamacpp": ("llama_cpp",),
}


def backend_installed(name: str) -> bool:
    """Whether backend ``name``'s runtime is importable here (no import happens)."""
    import importlib.util

    return name in BACKENDS and all(
        importlib.util.find_spec(module) is not None for module in _REQUIRES.get(name, ())
    )


def create_backend(name: str, options: Mapping[str, Any] | None = None) -> Backend:
    """Instantiate backend ``name`` with profile options.

    Raises:
        ConfigError: unknown backend or bad options.
        BackendUnavailable: the backend's extra is not installed.
    """
    try:
        target, defaults, extra = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}", hint=f"known: {', '.join(BACKENDS)}") from None
    module_name, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend {name!r} is not available: {exc}",
            hint=f"pip install 'qwen-router[{extra}]'" if extra else None,
            backend=name,
        ) from None
    kwargs = {**defaults, **{k: v for k, v in (options or {}).items() if v is not None}}
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ConfigError(f"bad options for backend {name!r}: {exc}") from None


class BackendPool:
    """One backend instance per backend name, built on first use, closed together."""

    def __init__(
        self,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        instances: Mapping[str, Backend] | None = None,
    ) -> None:
        self._options = {k: dict(v or {}) for k, v in (options or {}).items()}
        self._instances: dict[str, Backend] = dict(instances or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> Backend:
        with self._lock:
            if name not in self._instances:
                self._instances[name] = create_backend(name, self._options.get(name))
            return self._instances[name]

    def close(self) -> None:
        with self._lock:
            for backend in self._instances.values():
                backend.close()
            self._instances.clear()

    async def aclose(self) -> None:
        with self._lock:
            instances = list(self._instances.values())
            self._instances.clear()
        for backend in instances:
            aclose = getattr(backend, "aclose", None)
            if aclose is not None:
                await aclose()
            else:
                backend.close()

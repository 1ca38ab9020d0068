"""The backend registry: spec prefixes (``hf:``, ``ollama:``…) to implementations,
imported lazily, and a per-process pool of instances.

One table, :data:`the registry <backend_entries>`: each entry carries the backend's
name, its class (a lazy ``"module:Class"`` reference or the class itself), constructor
defaults, the pip extra that installs it and the modules it cannot run without. Every
other list of backends (profile validation, ``qwen-router models``, the server's model
names) is read from it.

Three ways in, all the same registry:

* code: ``register_backend("mine", MyBackend)`` (or ``"package.module:MyBackend"``);
* installed plugins: an entry point in the ``qwen_router.backends`` group whose value is
  ``"package.module:MyBackend"`` (listed on first lookup, imported only when used);
* the package's own backends, registered below exactly as a plugin would be.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from qwen_router.errors import BackendUnavailable, ConfigError

from .base import Backend

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendEntry",
    "BackendPool",
    "backend_entry",
    "backend_installed",
    "backend_names",
    "check_backend",
    "create_backend",
    "register_backend",
    "unregister_backend",
]

ENTRY_POINT_GROUP = "qwen_router.backends"


@dataclass(frozen=True)
class BackendEntry:
    """One backend: how to build it and what it needs."""

    name: str
    target: Any  # a class (or factory) or a "module:Class" string
    defaults: Mapping[str, Any] = field(default_factory=dict)
    extra: str = ""
    requires: tuple[str, ...] = ()
    source: str = "code"

    @property
    def hint(self) -> str | None:
        """How to install what this backend needs."""
        return f"pip install 'qwen-router[{self.extra}]'" if self.extra else None

    def installed(self) -> bool:
        """Whether the modules this backend needs are importable (nothing is imported)."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def load(self) -> Any:
        """The class (or factory).

        Raises:
            BackendUnavailable: the module cannot be imported (its extra is missing).
            ConfigError: the reference does not name an attribute of the module.
        """
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise BackendUnavailable(
                f"backend {self.name!r} is not available: {exc}",
                hint=self.hint,
                backend=self.name,
            ) from None
        try:
            return getattr(module, attr)
        except AttributeError:
            raise ConfigError(
                f"backend {self.name!r} ({self.source}): {module_name} has no {attr!r}"
            ) from None


_REGISTRY: dict[str, BackendEntry] = {}
_LOCK = threading.Lock()
_plugins_listed = False


def register_backend(
    name: str,
    target: Any,
    *,
    defaults: Mapping[str, Any] | None = None,
    extra: str = "",
    requires: Collection[str] = (),
    replace: bool = False,
    source: str = "code",
) -> BackendEntry:
    """Make ``name:MODEL`` specs build ``target(**defaults, **profile_options)``.

    ``target`` is a backend class (or any factory returning a :class:`Backend`) or a
    lazy ``"package.module:Class"`` reference.

    Raises:
        ConfigError: an empty or malformed name, a bad target, or a name already
            registered (unless ``replace``).
    """
    name = name.strip().lower() if isinstance(name, str) else ""
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ConfigError(f"a backend needs a simple non-empty name, not {name!r}")
    if isinstance(target, str) and ":" not in target:
        raise ConfigError(f"backend {name!r}: expected 'package.module:Class', not {target!r}")
    if not isinstance(target, str) and not callable(target):
        raise ConfigError(f"backend {name!r}: {target!r} is not a class or factory")
    entry = BackendEntry(
        name, target, dict(defaults or {}), extra, tuple(requires), source=source
    )
    with _LOCK:
        old = _REGISTRY.get(name)
        if old is not None and not replace and old.target != target:
            raise ConfigError(
                f"backend {name!r} is already registered ({old.source})",
                hint="pass replace=True to override it",
            )
        _REGISTRY[name] = entry
    return entry


def unregister_backend(name: str) -> None:
    """Remove ``name`` (no error when it is not registered)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def _list_plugins() -> None:
    """Add installed ``qwen_router.backends`` entry points once (code registrations win)."""
    global _plugins_listed
    if _plugins_listed:
        return
    with _LOCK:
        if _plugins_listed:
            return
        _plugins_listed = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            name = ep.name.strip().lower()
            if name not in _REGISTRY:
                _REGISTRY[name] = BackendEntry(name, ep.value, source=f"entry point {ep.value}")


def backend_names() -> tuple[str, ...]:
    """Every registered backend name, plugins included, in registration order."""
    _list_plugins()
    with _LOCK:
        return tuple(_REGISTRY)


def backend_entry(name: str) -> BackendEntry:
    """The entry for ``name``.

    Raises:
        ConfigError: no backend of that name is registered or installed.
    """
    _list_plugins()
    with _LOCK:
        entry = _REGISTRY.get(name)
    if entry is None:
        raise ConfigError(f"unknown backend {name!r}", hint=f"known: {', '.join(backend_names())}")
    return entry


def check_backend(name: str, extra: Collection[str] = ()) -> None:
    """Profile validation: ``name`` is registered, or one of ``extra`` (instances).

    Raises:
        ConfigError: an unknown backend; the hint lists the known ones.
    """
    if name in extra:
        return
    _list_plugins()
    with _LOCK:
        known = name in _REGISTRY
    if not known:
        names = ", ".join([*backend_names(), *(n for n in extra if n not in _REGISTRY)])
        raise ConfigError(f"unknown backend {name!r}", hint=f"expected one of: {names}")


def backend_installed(name: str) -> bool:
    """Whether backend ``name``'s runtime is importable here (no import happens)."""
    try:
        return backend_entry(name).installed()
    except ConfigError:
        return False


def create_backend(name: str, options: Mapping[str, Any] | None = None) -> Backend:
    """Instantiate backend ``name`` with profile options.

    Raises:
        ConfigError: unknown backend or bad options.
        BackendUnavailable: the backend's extra is not installed.
    """
    entry = backend_entry(name)
    cls = entry.load()
    kwargs = {**entry.defaults, **{k: v for k, v in (options or {}).items() if v is not None}}
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ConfigError(f"bad options for backend {name!r}: {exc}") from None


_BUILTIN = "built in"
for _name, _target, _defaults, _extra, _requires in (
    ("hf", "qwen_router.backends.hf:HFBackend", {"kind": "hf"}, "hf", ("torch", "transformers")),
    ("gguf", "qwen_router.backends.hf:HFBackend", {"kind": "gguf"}, "hf", ("torch", "transformers")),
    ("ollama", "qwen_router.backends.ollama:OllamaBackend", {}, "ollama", ("ollama",)),
    ("openai", "qwen_router.backends.openai_compat:OpenAIBackend", {}, "openai", ("openai",)),
    ("llamacpp", "qwen_router.backends.llamacpp:LlamaCppBackend", {}, "llamacpp", ("llama_cpp",)),
    ("fake", "qwen_router.backends.fake:FakeBackend", {}, "", ()),
):
    register_backend(
        _name, _target, defaults=_defaults, extra=_extra, requires=_requires, source=_BUILTIN
    )


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

    def names(self) -> tuple[str, ...]:
        """The names of the instances given or built so far."""
        with self._lock:
            return tuple(self._instances)

    def get(self, name: str) -> Backend:
        backend = self._instances.get(name)  # the hot path takes no lock
        if backend is not None:
            return backend
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

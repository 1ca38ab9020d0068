"""Verifier registry: profile names (``verifiers: [math]``) to callables.

A verifier is called as ``verifier(question, answer)`` (a ``reference=`` keyword is
optional) and returns a :class:`~qwen_router.types.Verification`; it never raises on bad
model output.

Three ways in, all the same registry:

* code: ``register_verifier("units", my_verify)``, or a factory built on first use
  (``register_verifier("units", MyVerifier, factory=True)``), or a lazy
  ``"package.module:attr"`` reference;
* installed plugins: an entry point in the ``qwen_router.verifiers`` group whose value is
  ``"package.module:attr"`` (the verifier, or a class that is instantiated once); they are
  listed on first lookup and imported only when asked for;
* the package's own ``math`` verifier, registered below with a lazy reference, exactly as
  a plugin would be.

:func:`check_verifier` is what profile validation calls: it raises
:class:`~qwen_router.errors.ConfigError` naming an unknown verifier or a missing extra,
without importing the verifier.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from qwen_router.errors import ConfigError
from qwen_router.types import Verification

__all__ = [
    "ENTRY_POINT_GROUP",
    "Verifier",
    "check_verifier",
    "get_verifier",
    "register_verifier",
    "unregister_verifier",
    "verifier_names",
]

ENTRY_POINT_GROUP = "qwen_router.verifiers"

Verifier = Callable[..., Verification]


@dataclass
class _Entry:
    target: Any  # a callable, a factory, or a "module:attr" string
    factory: bool = False
    requires: tuple[str, ...] = ()
    extra: str | None = None
    source: str = "code"
    loaded: Verifier | None = field(default=None, repr=False)


_REGISTRY: dict[str, _Entry] = {}
_LOCK = threading.RLock()
_plugins_listed = False


def register_verifier(
    name: str,
    verifier: Verifier | Callable[[], Verifier] | str,
    *,
    factory: bool = False,
    requires: Sequence[str] = (),
    extra: str | None = None,
    replace: bool = False,
) -> None:
    """Register ``verifier`` under ``name``.

    ``verifier`` is the callable itself, a zero-argument factory (``factory=True``) or a
    ``"module:attr"`` reference imported on first use. ``requires`` names modules the
    verifier needs (checked by :func:`check_verifier` without importing them), ``extra``
    the pip extra that provides them.

    Raises:
        ConfigError: the name is empty or already taken (pass ``replace=True``).
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("a verifier needs a non-empty name")
    if not (callable(verifier) or (isinstance(verifier, str) and ":" in verifier)):
        raise ConfigError(
            f"verifier {name!r} must be a callable or a 'module:attr' reference"
        )
    with _LOCK:
        if name in _REGISTRY and not replace:
            raise ConfigError(
                f"verifier {name!r} is already registered",
                hint="pass replace=True to override it",
            )
        _REGISTRY[name] = _Entry(verifier, factory, tuple(requires), extra)


def unregister_verifier(name: str) -> None:
    """Remove ``name`` (no error when it is not registered)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def _list_plugins() -> None:
    """Add installed ``qwen_router.verifiers`` entry points once (code registrations win)."""
    global _plugins_listed
    with _LOCK:
        if _plugins_listed:
            return
        _plugins_listed = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _REGISTRY:
                _REGISTRY[ep.name] = _Entry(ep.value, source=f"entry point {ep.value}")


def verifier_names() -> list[str]:
    """Every registered verifier name, plugins included (sorted)."""
    _list_plugins()
    with _LOCK:
        return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    _list_plugins()
    with _LOCK:
        entry = _REGISTRY.get(name)
    if entry is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigError(f"unknown verifier {name!r}", hint=f"known: {known}")
    return entry


def check_verifier(name: str) -> None:
    """Validate a profile's verifier name without importing it.

    Raises:
        ConfigError: the name is unknown, or a module it requires is not installed.
    """
    entry = _entry(name)
    missing = [m for m in entry.requires if importlib.util.find_spec(m) is None]
    if missing:
        hint = f"pip install 'qwen-router[{entry.extra}]'" if entry.extra else None
        raise ConfigError(
            f"verifier {name!r} needs {', '.join(missing)}, which is not installed",
            hint=hint,
        )


def get_verifier(name: str) -> Verifier:
    """The verifier registered as ``name``, built or imported on first use.

    Raises:
        ConfigError: unknown name, its module cannot be imported, or it is not callable.
    """
    entry = _entry(name)
    if entry.loaded is not None:
        return entry.loaded
    with _LOCK:
        if entry.loaded is not None:
            return entry.loaded
        target = entry.target
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            try:
                target = importlib.import_module(module)
                for part in attr.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                hint = (
                    f"pip install 'qwen-router[{entry.extra}]'" if entry.extra else None
                )
                raise ConfigError(
                    f"verifier {name!r} could not be loaded from {entry.target!r}: {exc}",
                    hint=hint,
                ) from None
        if entry.factory or isinstance(target, type):
            target = target()
        if not callable(target):
            raise ConfigError(f"verifier {name!r} ({entry.source}) is not callable")
        entry.loaded = target
        return target


register_verifier(
    "math",
    "qwen_router.tools.math:verify",
    requires=("sympy", "math_verify", "latex2sympy2_extended"),
    extra="math",
)

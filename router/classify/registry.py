"""The classifier registry: named factories, built-in and installed.

``register_classifier(name, factory)`` adds a classifier by code; an installed
package adds one with an entry point in the ``qwen_router.classifiers`` group (the
entry point's object is the factory). A profile picks one by name::

    classifier:
      name: cascade      # the default; "rules" is the cascade without models
      rules_accept: 0.9  # every other key goes to the factory

A factory takes the loaded :class:`~qwen_router.profiles.Profile` and returns an
object with ``classify(messages) -> RouteDecision`` (see
:class:`~qwen_router.classify.base.Classifier`). The package's own classifiers are
registered the same way, in :mod:`qwen_router.classify`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from qwen_router.errors import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ClassifierFactory",
    "classifier_factory",
    "classifier_names",
    "refresh_entry_points",
    "register_classifier",
    "unregister_classifier",
]

ENTRY_POINT_GROUP = "qwen_router.classifiers"
ClassifierFactory = Callable[[Any], Any]

_FACTORIES: dict[str, ClassifierFactory] = {}
_LOCK = threading.Lock()
_loaded_entry_points = False


def register_classifier(
    name: str, factory: ClassifierFactory, *, replace: bool = False
) -> None:
    """Make ``factory(profile) -> Classifier`` available as ``classifier.name``.

    Raises:
        ConfigError: ``name`` is empty, or taken and ``replace`` is false.
    """
    if not name or not isinstance(name, str):
        raise ConfigError("a classifier needs a non-empty name")
    if not callable(factory):
        raise ConfigError(f"classifier {name!r}: the factory is not callable")
    with _LOCK:
        if name in _FACTORIES and not replace and _FACTORIES[name] is not factory:
            raise ConfigError(
                f"classifier {name!r} is already registered",
                hint="pass replace=True to override it",
            )
        _FACTORIES[name] = factory


def unregister_classifier(name: str) -> None:
    """Remove ``name`` (no error when it is not registered)."""
    with _LOCK:
        _FACTORIES.pop(name, None)


def refresh_entry_points() -> None:
    """Read the ``qwen_router.classifiers`` entry points again (after installing a
    plugin into a running process)."""
    global _loaded_entry_points
    _loaded_entry_points = False
    _load_entry_points()


def _load_entry_points() -> None:
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _FACTORIES:
            continue
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plugin names itself, it does not crash us
            raise ConfigError(
                f"classifier plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from None
        register_classifier(ep.name, factory)


def classifier_names() -> list[str]:
    """Registered names, entry points included."""
    _load_entry_points()
    return sorted(_FACTORIES)


def classifier_factory(name: str) -> ClassifierFactory:
    """The factory registered as ``name``.

    Raises:
        ConfigError: no classifier has that name.
    """
    if name not in _FACTORIES:
        _load_entry_points()
    try:
        return _FACTORIES[name]
    except KeyError:
        raise ConfigError(
            f"classifier.name: unknown classifier {name!r}",
            hint="registered: " + ", ".join(sorted(_FACTORIES)),
        ) from None

"""Which recogniser reads a question, and which handler recomputes it.

:func:`recognize_any` tries the general recogniser of
:mod:`~qwen_router.tools.math.recompute.tasks` first (calculus, equations, simplification,
evaluation), then the topic modules of :mod:`qwen_router.tools.math.topics`. Every
recogniser returns ``None`` unless the whole question has a shape it knows; the first that
answers wins. :func:`recompute` runs the handler of the task's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .recompute.core import HANDLERS as CORE_HANDLERS
from .recompute.expected import Expected, Unsupported
from .recompute.tasks import Task, recognize
from .topics import (
    arrangements,
    coords,
    counting,
    geometry,
    given,
    numbertheory,
    probability,
)

__all__ = ["handler_for", "recognize_any", "recompute"]

_TOPICS = (numbertheory, counting, arrangements, probability, geometry, coords, given)
_HANDLERS: dict[str, Callable[[Task], Any]] = dict(CORE_HANDLERS)
for _module in _TOPICS:
    _HANDLERS.update(_module.HANDLERS)


def recognize_any(question: str) -> Task | None:
    """The task sympy can redo for this question, or ``None``."""
    task = recognize(question)
    if task is not None:
        return task
    for module in _TOPICS:
        task = module.recognize(question)
        if task is not None:
            return task
    return None


def handler_for(kind: str) -> Callable[[Task], Any]:
    """The recompute function of a task kind."""
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise Unsupported(f"no handler for {kind}") from None


def recompute(task: Task) -> Expected:
    """Compute the expected answer, or raise :class:`Unsupported`."""
    return handler_for(task.kind)(task)

"""Which recogniser reads a question, and which handler recomputes it.

:func:`recognize_any` tries the general recogniser of :mod:`~qwen_router.tools.math_tasks`
first (calculus, equations, simplification, evaluation), then the topic modules (number
theory, counting, systems of equations, coordinates). Every recogniser returns ``None``
unless the whole question has a shape it knows; the first that answers wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import math_coords, math_counting, math_given, math_numbertheory
from .math_expected import Unsupported
from .math_tasks import Task, recognize

__all__ = ["handler_for", "recognize_any"]

_TOPICS = (math_numbertheory, math_counting, math_coords, math_given)
_HANDLERS: dict[str, Callable[[Task], Any]] = {}
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
    """The recompute function of a topic task kind."""
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise Unsupported(f"no handler for {kind}") from None

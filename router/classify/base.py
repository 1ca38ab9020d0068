"""The classifier protocol: messages in, a multi-label :class:`RouteDecision` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from qwen_router.types import Message, RouteDecision

__all__ = ["Classifier"]


@runtime_checkable
class Classifier(Protocol):
    """Decides the task type of a conversation.

    The returned decision's ``route`` is the classifier's best domain; ``labels``
    holds every label that applies (``{"math", "multilingual"}`` for a Russian word
    problem) and ``lang`` the ISO 639-1 language. The routing policy, not the
    classifier, picks the final route from these.
    """

    def classify(self, messages: Sequence[Message]) -> RouteDecision: ...

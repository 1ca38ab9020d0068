"""A scripted backend for control flow only (fault injection, not a model): it answers
from a list, in order, and records the prompts it was sent."""

from __future__ import annotations

from collections.abc import Iterator

from qwen_router.backends.base import (
    BaseBackend,
    Capabilities,
    GenerateRequest,
    RawDelta,
)


class ScriptedBackend(BaseBackend):
    """Answers from ``answers``, in order; ``prompts`` holds each request's texts."""

    name = "scripted"
    capabilities = Capabilities()

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.prompts: list[list[str]] = []

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        self.prompts.append([m.text for m in request.messages])
        yield RawDelta(text=self.answers.pop(0), tokens=3)

"""One run's working state, from ``plan`` to ``respond``: what the graph keeps under
its ``run`` channel (see :mod:`.state`), with no LangGraph import, so that the direct
stepper (:mod:`.steps`) runs without loading it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qwen_router.backends.base import GenerateResult
from qwen_router.backends.dispatch import Attempt
from qwen_router.policy import Selection
from qwen_router.types import (
    Message,
    RouteDecision,
    RouteRequest,
    TraceEvent,
    Usage,
    Verification,
)

__all__ = ["Candidate", "RunState", "trace_event"]


def trace_event(node: str, start: float, end: float, detail: dict[str, Any]) -> TraceEvent:
    # plain construction: pydantic validates these three fields faster than
    # ``model_construct`` builds them
    return TraceEvent(node=node, ms=round((end - start) * 1000, 3), detail=detail)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One generation the graph may answer with, and how it checked out."""

    generation: GenerateResult
    answered_by: str
    message_id: str | None = None
    verification: Verification | None = None


@dataclass(frozen=True, slots=True)
class RunState:
    """One run's working state, from ``plan`` to ``respond``."""

    request: RouteRequest
    started: float
    decision: RouteDecision
    selection: Selection
    prompt: list[Message]
    repairs: int = 0
    usage: Usage | None = None  # summed over the run's generations
    timings: dict[str, float] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    latest: Candidate | None = None  # the last generation, verified or not
    best: Candidate | None = None  # the one to answer with, once verified
    trace: list[TraceEvent] = field(default_factory=list)
    fresh: int = 0  # how many of ``trace``'s steps the latest node added
    # the caller reads only the result: nodes add no steps and no AIMessage
    answer_only: bool = False

    @property
    def steps(self) -> list[TraceEvent]:
        """The steps of the node that wrote this value (``plan``: four)."""
        return self.trace[len(self.trace) - self.fresh :]

    def advance(self, steps: list[TraceEvent], **changes: Any) -> RunState:
        """A copy with ``steps`` added to the trace and ``changes`` applied."""
        return dataclasses.replace(self, trace=self.trace + steps, fresh=len(steps), **changes)

    def step(self, node: str, start: float, end: float, detail: Callable[[], dict[str, Any]]) -> list[TraceEvent]:
        """The node's step for :meth:`advance`: none in an ``answer_only`` run, whose
        ``detail`` is then never built."""
        return [] if self.answer_only else [trace_event(node, start, end, detail())]

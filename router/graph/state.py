"""The routing graph's state: what each node reads and writes.

The public channels are ``messages``, ``request`` and ``result``. Everything else one
run works with, its trace included, lives in :class:`RunState`: one value under
``run`` that ``plan`` creates afresh for every run and each later node replaces with
an updated copy. That keeps the channels LangGraph reads, writes and checkpoints each
superstep to four, and stops a checkpointed thread from carrying one turn's working
state (its verified answer, its start time, its trace) into the next.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from qwen_router.backends.base import GenerateResult
from qwen_router.backends.dispatch import Attempt
from qwen_router.policy import Selection
from qwen_router.types import (
    Message,
    RouteDecision,
    RouteRequest,
    RouteResult,
    TraceEvent,
    Usage,
    Verification,
)

__all__ = ["Candidate", "RouterState", "RunState"]


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

    @property
    def steps(self) -> list[TraceEvent]:
        """The steps of the node that wrote this value (``plan``: four)."""
        return self.trace[len(self.trace) - self.fresh :]

    def advance(self, steps: list[TraceEvent], **changes: Any) -> RunState:
        """A copy with ``steps`` added to the trace and ``changes`` applied."""
        return dataclasses.replace(self, trace=self.trace + steps, fresh=len(steps), **changes)


class RouterState(TypedDict, total=False):
    """``messages`` makes the graph a drop-in node of a LangGraph messages agent;
    ``request`` is the typed way in (``plan`` takes it into ``run``, leaving
    ``None``, so the next turn of a checkpointed thread reads its own input), ``result``
    the typed way out; ``run`` is the graph's own (each node's update carries its
    steps as ``run.steps``)."""

    messages: Annotated[list[AnyMessage], add_messages]
    request: RouteRequest | None
    run: RunState
    result: RouteResult

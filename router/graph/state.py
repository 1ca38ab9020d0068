"""The routing graph's state: what each node reads and writes.

The public channels are ``messages``, ``request`` and ``result``. Everything else one
run works with, its trace included, lives in :class:`RunState`: one value under
``run`` that ``plan`` creates afresh for every run and each later node replaces with
an updated copy. That keeps the channels LangGraph reads, writes and checkpoints each
superstep to four, and stops a checkpointed thread from carrying one turn's working
state (its verified answer, its start time, its trace) into the next.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from qwen_router.types import RouteRequest, RouteResult

from .run_state import Candidate, RunState

__all__ = ["Candidate", "RouterState", "RunState"]


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

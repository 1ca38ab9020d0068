"""The routing graph's state: what each node reads and writes."""

from __future__ import annotations

import operator
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

__all__ = ["RouterState"]


class RouterState(TypedDict, total=False):
    """``messages`` makes the graph a drop-in node of a LangGraph messages agent;
    ``request`` is the typed way in, ``result`` the typed way out."""

    messages: Annotated[list[AnyMessage], add_messages]
    request: RouteRequest
    started: float
    decision: RouteDecision
    selection: Selection
    prompt: list[Message]
    generation: GenerateResult
    answered_by: str
    message_id: str
    verification: Verification
    best: dict[str, Any]
    repairs: int
    usage: Usage
    timings: dict[str, float]
    trace: Annotated[list[TraceEvent], operator.add]
    attempts: Annotated[list[Attempt], operator.add]
    result: RouteResult

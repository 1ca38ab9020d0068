"""The routing graph's definition, and a direct stepper over it.

:class:`GraphShape` is the one table of the graph's nodes and edges. ``build`` compiles
it into LangGraph's ``StateGraph`` (what ``router.graph`` is: a subgraph, checkpoints,
LangGraph streaming and callbacks). :func:`step` and :func:`astep` (streamed:
:func:`stream_steps` and :func:`astream_steps`) walk the same table directly when
nothing needs Pregel: no checkpointer, no callback handlers (``config["callbacks"]``,
LangSmith tracing, a parent run). It is the same nodes and the same edge functions in
the same order, with the graph's reducers and recursion limit. It skips Pregel's
per-superstep bookkeeping (channels, task preparation, the checkpoint it builds even
when none is kept), which costs more than all of the router's own work for one
request. ``Router.invoke``, ``ainvoke``, ``stream`` and ``astream``, and with them the
server and the CLI, take this path; :func:`needs_pregel` decides when they can.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..observability.tracing import annotate_node, node_span
from .run_state import RunState

__all__ = [
    "END",
    "GraphNode",
    "GraphShape",
    "StreamAbandoned",
    "astep",
    "astream_steps",
    "current_writer",
    "needs_pregel",
    "step",
    "stream_steps",
]

END = "__end__"
DEFAULT_RECURSION_LIMIT = 25  # LangGraph's default, in steps
# channels whose updates append (``add_messages`` in the compiled graph); every
# other channel keeps the last value written
APPENDED = frozenset({"messages"})
_TRACING_ENV = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")

# What a streamed run writes to: ``custom`` events (the ``generate`` node's tokens,
# through ``current_writer``) and each node's update (``current_updates``), as
# LangGraph's ``stream_mode=["custom", "updates"]`` gives them.
Writer = Callable[[Any], None]
current_writer: ContextVar[Writer | None] = ContextVar("qwen_router_writer", default=None)
current_updates: ContextVar[Writer | None] = ContextVar("qwen_router_updates", default=None)


class GraphNode:
    """A graph node (or edge function) with a sync and an async body.

    The routing nodes are microseconds of CPU work, less than a thread hop, so when a
    node has no async body (``afunc=None``) the async run calls the sync one on the
    event loop; a node that may block passes an ``afunc`` that says how it leaves the
    loop. ``with_config`` nodes get the run's config (callbacks, a plan decided
    before the run). ``traced`` nodes open an OpenTelemetry span per run.
    """

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        afunc: Callable[..., Awaitable[Any]] | None = None,
        *,
        with_config: bool = False,
        traced: bool = False,
    ) -> None:
        self.name = name
        self.func = func
        self.afunc = afunc
        self.with_config = with_config
        self.traced = traced

    def invoke(self, state: Any, config: Any = None) -> Any:
        with node_span(self.name, self.traced) as span:
            out = self.func(state, config) if self.with_config else self.func(state)
            if span is not None:
                annotate_node(span, *_decided(self.name, out))
            return out

    async def ainvoke(self, state: Any, config: Any = None) -> Any:
        if self.afunc is None:
            return self.invoke(state, config)
        with node_span(self.name, self.traced) as span:
            out = await (self.afunc(state, config) if self.with_config else self.afunc(state))
            if span is not None:
                annotate_node(span, *_decided(self.name, out))
            return out


def _decided(node: str, update: Any) -> tuple[dict[str, Any], list[Any]]:
    """What ``node`` decided (never content) as span attributes, and its steps."""
    run = update.get("run") if isinstance(update, Mapping) else None
    if not isinstance(run, RunState):
        return {}, []
    attributes: dict[str, Any] = {}
    if node == "plan":
        attributes = {
            "qwen_router.route": run.decision.route,
            "qwen_router.stage": run.decision.stage,
            "qwen_router.confidence": float(run.decision.confidence),
            "qwen_router.candidates": [str(c) for c in run.selection.candidates],
            "qwen_router.repairs": run.repairs,
        }
    elif node == "generate" and run.latest is not None:
        attributes = {"gen_ai.response.model": run.latest.answered_by}
    elif node == "verify" and run.latest is not None and run.latest.verification is not None:
        attributes = {"qwen_router.verification": run.latest.verification.status}
    elif node == "repair":
        attributes = {"qwen_router.repairs": run.repairs}
    return attributes, run.steps


@dataclass(frozen=True)
class GraphShape:
    """The graph's nodes, its entry node, its fixed edges (node -> next) and its
    branches (node -> an edge function that names the next node, and the nodes it
    may name). A node with neither an edge nor a branch ends the run."""

    nodes: Mapping[str, GraphNode]
    entry: str
    edges: Mapping[str, str]
    branches: Mapping[str, tuple[GraphNode, tuple[str, ...]]]


def needs_pregel(config: Any, *, checkpointer: Any) -> bool:
    """Whether a run with ``config`` must go through the compiled LangGraph graph:
    a checkpointer keeps its threads there; callback handlers (a LangChain parent
    run, LangSmith tracing, ``config["callbacks"]``) see its runs and nodes there."""
    if checkpointer is not None:
        return True
    if config and config.get("callbacks"):
        return True
    if any(os.environ.get(name, "").lower() in ("true", "1") for name in _TRACING_ENV):
        return True
    # a parent LangChain run (this call made inside a Runnable or a LangGraph node):
    # only possible once langchain_core's runnables are loaded
    runnable_config = sys.modules.get("langchain_core.runnables.config")
    if runnable_config is not None and runnable_config.var_child_runnable_config.get():
        return True
    tracers = sys.modules.get("langchain_core.tracers.context")
    return tracers is not None and tracers.tracing_v2_callback_var.get() is not None


def _limit(config: Any) -> int:
    return int((config or {}).get("recursion_limit") or DEFAULT_RECURSION_LIMIT)


def _steps_allowed(limit: int) -> int:
    # Pregel counts its input as a step: a run of n nodes needs a limit above n
    return max(0, limit - 1)


def _record(state: dict[str, Any], node: str, update: Any) -> None:
    """Apply ``node``'s update to ``state``, and hand it to a streamed run."""
    if isinstance(update, Mapping):
        for key, value in update.items():
            state[key] = [*state.get(key, ()), *value] if key in APPENDED else value
    on_update = current_updates.get()
    if on_update is not None:
        on_update({node: update})


def _too_deep(limit: int) -> Exception:
    from langgraph.errors import (
        GraphRecursionError,  # the error the compiled graph raises
    )

    return GraphRecursionError(
        f"Recursion limit of {limit} reached without hitting a stop condition. "
        "You can increase the limit by setting the `recursion_limit` config key."
    )


def step(shape: GraphShape, state: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
    """Run the graph's nodes in order on ``state``; the final state.

    Raises:
        RouterError: what a node raised.
        GraphRecursionError: as many nodes as ``config["recursion_limit"]`` (25), as
            the compiled graph counts them.
    """
    values, node, limit = dict(state), shape.entry, _limit(config)
    for _ in range(_steps_allowed(limit)):
        _record(values, node, shape.nodes[node].invoke(values, config))
        branch = shape.branches.get(node)
        following = branch[0].invoke(values, config) if branch else shape.edges.get(node, END)
        if following == END:
            return values
        node = following
    raise _too_deep(limit)


async def astep(
    shape: GraphShape, state: Mapping[str, Any], config: Any = None
) -> dict[str, Any]:
    """Async twin of :func:`step`: each node's async body."""
    values, node, limit = dict(state), shape.entry, _limit(config)
    for _ in range(_steps_allowed(limit)):
        _record(values, node, await shape.nodes[node].ainvoke(values, config))
        branch = shape.branches.get(node)
        following = (
            await branch[0].ainvoke(values, config) if branch else shape.edges.get(node, END)
        )
        if following == END:
            return values
        node = following
    raise _too_deep(limit)


# --- streaming ------------------------------------------------------------------------


class StreamAbandoned(Exception):
    """The consumer of a streamed run has gone: the run stops at its next token."""


@dataclass(frozen=True)
class _Ended:
    error: BaseException | None = None


def _ends(item: Any) -> bool:
    """Whether ``item`` ends a streamed run; one that failed raises its error here."""
    if not isinstance(item, _Ended):
        return False
    if item.error is not None:
        raise item.error
    return True


def stream_steps(
    shape: GraphShape, state: Mapping[str, Any], config: Any = None
) -> Iterator[tuple[str, Any]]:
    """:func:`step` as a stream of ``(mode, payload)``: ``("custom", event)`` as a node
    writes it, ``("updates", {node: update})`` as each node ends. The run goes on in
    a worker thread (with this thread's context), so tokens arrive as they are made;
    closing the stream stops it at its next token.

    Raises:
        RouterError: what a node raised.
    """
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    gone = threading.Event()

    def write(payload: Any) -> None:
        if gone.is_set():
            raise StreamAbandoned("the stream was closed")
        events.put(("custom", payload))

    def run() -> None:
        current_writer.set(write)
        current_updates.set(lambda update: events.put(("updates", update)))
        try:
            step(shape, state, config)
        except BaseException as exc:  # handed to the consumer, raised there
            events.put(_Ended(exc))
        else:
            events.put(_Ended())

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(run,), name="qwen-router-run", daemon=True)
    worker.start()
    try:
        while not _ends(item := events.get()):
            yield item
    finally:
        gone.set()


async def astream_steps(
    shape: GraphShape, state: Mapping[str, Any], config: Any = None
) -> AsyncIterator[tuple[str, Any]]:
    """Async twin of :func:`stream_steps`: the run is a task; closing the stream
    cancels it.

    Raises:
        RouterError: what a node raised.
    """
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Any] = asyncio.Queue()
    loop_thread = threading.get_ident()

    def put(item: Any) -> None:
        if threading.get_ident() == loop_thread:
            events.put_nowait(item)
        else:  # a node's worker thread
            loop.call_soon_threadsafe(events.put_nowait, item)

    async def run() -> None:
        current_writer.set(lambda payload: put(("custom", payload)))
        current_updates.set(lambda update: put(("updates", update)))
        try:
            await astep(shape, state, config)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Ended(exc))
        else:
            put(_Ended())

    task = asyncio.create_task(run())
    try:
        while not _ends(item := await events.get()):
            yield item
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

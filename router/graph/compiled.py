"""The graph's shape compiled into LangGraph's ``StateGraph`` over :class:`RouterState`:
what ``router.graph`` is (a subgraph, checkpoints, LangGraph streaming, callbacks)."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END, START, StateGraph

from . import steps
from .state import RouterState
from .steps import GraphNode, GraphShape

__all__ = ["compile_shape"]


class _PregelNode(Runnable[Any, Any]):
    """A :class:`GraphNode` as LangGraph runs it, called directly.

    LangGraph runs a plain sync function of an async run in a worker thread, and
    ``RunnableLambda`` inspects its function's signature on every call; a Runnable
    with both bodies does neither. The node's run is still traced by LangGraph,
    under its name.
    """

    def __init__(self, node: GraphNode) -> None:
        self.node = node
        self.name = node.name

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self.node.invoke(input, config)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        return await self.node.ainvoke(input, config)


def compile_shape(shape: GraphShape, *, checkpointer: Any = None) -> Any:
    """The compiled ``StateGraph`` (``CompiledStateGraph``) of ``shape``."""
    graph = StateGraph(RouterState)
    for name, node in shape.nodes.items():
        graph.add_node(name, _PregelNode(node))
    graph.add_edge(START, shape.entry)
    for source, target in shape.edges.items():
        graph.add_edge(source, END if target == steps.END else target)
    for source, (edge, ends) in shape.branches.items():
        graph.add_conditional_edges(source, _PregelNode(edge), list(ends))
    for name in shape.nodes:
        if name not in shape.edges and name not in shape.branches:
            graph.add_edge(name, END)
    return graph.compile(checkpointer=checkpointer, name="qwen-router")

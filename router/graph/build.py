"""``build_graph``: the one factory that turns a profile into the compiled routing graph.

Shape (the fewest supersteps that keep the meaning)::

    START -> plan -> generate -> respond -> END
                        ^   \\-> verify -> respond
                        |          \\-> repair --/   (refuted, repairs left)
                        \\-----------------/

``plan`` guards, classifies, selects and renders (each still a step of the trace);
``generate`` runs the candidates through the dispatcher and the thinking-budget
controller (a ``thinking_budget`` step in the trace when a budget applies).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from qwen_router.backends.base import Backend
from qwen_router.backends.dispatch import Dispatcher
from qwen_router.backends.registry import BackendPool
from qwen_router.tools.budget import arun_with_budget, run_with_budget

from ..classify.base import Classifier
from ..images import ImageLimits
from ..observability.calls import CallObserver
from ..observability.health import HealthMonitor
from ..profiles import Profile, load_profile
from .assets import CompiledAssets, compile_assets
from .nodes import Generator, Responder, Verifier, after_generate, after_verify, repair
from .planning import Planner
from .steps import (
    GraphNode,
    GraphShape,
    astep,
    astream_steps,
    needs_pregel,
    step,
    stream_steps,
)

__all__ = ["GraphParts", "assemble", "build_graph"]

# a run reads only the result: LangGraph then maps one channel per step, not all
_RESULT = ["result"]
_STREAMED = ["custom", "updates"]


class GraphParts:
    """The graph's shape, its compiled LangGraph graph (built on first use: LangGraph
    loads then) and the live parts it runs on (the Router keeps them)."""

    def __init__(
        self,
        shape: GraphShape,
        profile: Profile,
        classifier: Classifier,
        pool: BackendPool,
        dispatcher: Dispatcher,
        assets: CompiledAssets,
        checkpointer: Any = None,
    ) -> None:
        self.shape = shape
        self.profile = profile
        self.classifier = classifier
        self.pool = pool
        self.dispatcher = dispatcher
        self.assets = assets
        self.checkpointer = checkpointer
        self._graph: Any = None
        self._compiling = threading.Lock()

    @property
    def graph(self) -> Any:
        """The compiled ``StateGraph`` (a langgraph ``CompiledStateGraph``)."""
        if self._graph is None:
            with self._compiling:
                if self._graph is None:
                    from .compiled import compile_shape

                    self._graph = compile_shape(self.shape, checkpointer=self.checkpointer)
        return self._graph

    def invoke(self, state: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
        """Run the graph on ``state``: stepped directly, or through the compiled
        graph when the run needs it (:func:`.steps.needs_pregel`); the state has
        ``result``."""
        if needs_pregel(config, checkpointer=self.checkpointer):
            return self.graph.invoke(state, config, output_keys=_RESULT)
        return step(self.shape, state, config)

    async def ainvoke(self, state: Mapping[str, Any], config: Any = None) -> dict[str, Any]:
        """Async twin of :meth:`invoke`."""
        if needs_pregel(config, checkpointer=self.checkpointer):
            return await self.graph.ainvoke(state, config, output_keys=_RESULT)
        return await astep(self.shape, state, config)

    def stream(self, state: Mapping[str, Any], config: Any = None) -> Iterator[tuple[str, Any]]:
        """The run as ``(mode, payload)`` pairs, as LangGraph's
        ``stream_mode=["custom", "updates"]`` gives them: stepped directly, or through
        the compiled graph when the run needs it."""
        if needs_pregel(config, checkpointer=self.checkpointer):
            return self.graph.stream(state, config, stream_mode=_STREAMED)
        return stream_steps(self.shape, state, config)

    def astream(
        self, state: Mapping[str, Any], config: Any = None
    ) -> AsyncIterator[tuple[str, Any]]:
        """Async twin of :meth:`stream`."""
        if needs_pregel(config, checkpointer=self.checkpointer):
            return self.graph.astream(state, config, stream_mode=_STREAMED)
        return astream_steps(self.shape, state, config)


def assemble(
    profile: str | Path | Profile | None,
    *,
    classifier: Classifier | None = None,
    backends: Mapping[str, Backend] | None = None,
    template_dirs: Sequence[str | Path] = (),
    checkpointer: Any = None,
    image_limits: ImageLimits | None = None,
) -> GraphParts:
    """Load and check the profile, build the pool, dispatcher, budget controller and
    classifier, compile the templates and the graph.

    Raises:
        ConfigError: the profile names an unknown backend, template or verifier (the
            field is named), or is invalid.
    """
    instances = dict(backends or {})
    loaded = load_profile(profile, backends=instances)
    assets = compile_assets(loaded, template_dirs, backends=instances)
    pool = BackendPool(loaded.backends, instances=instances)
    if classifier is None:
        from ..classify import default_classifier

        classifier = default_classifier(loaded)
    dispatcher = Dispatcher(
        pool.get, loaded.retry, observer=CallObserver(HealthMonitor(loaded.health))
    )
    planner = Planner(loaded, classifier, assets, image_limits or ImageLimits(), pool.names)
    generator = Generator(dispatcher, run_with_budget, arun_with_budget)
    verifier = Verifier(assets)
    nodes = [
        GraphNode("plan", planner.plan, planner.aplan, with_config=True, traced=True),
        GraphNode(
            "generate", generator.generate, generator.agenerate, with_config=True, traced=True
        ),
        GraphNode("verify", verifier.verify, verifier.averify, traced=True),
        GraphNode("repair", functools.partial(repair, assets=assets), traced=True),
        GraphNode("respond", Responder().respond, traced=True),
    ]
    shape = GraphShape(
        nodes={node.name: node for node in nodes},
        entry="plan",
        edges={"plan": "generate", "repair": "generate"},
        branches={
            "generate": (GraphNode("after_generate", after_generate), ("verify", "respond")),
            "verify": (GraphNode("after_verify", after_verify), ("repair", "respond")),
        },
    )
    parts = GraphParts(shape, loaded, classifier, pool, dispatcher, assets, checkpointer)
    if checkpointer is not None:
        parts.graph  # noqa: B018 - a checkpointer runs every call through the graph
    return parts


def build_graph(
    profile: str | Path | Profile | None = None,
    *,
    classifier: Classifier | None = None,
    backends: Mapping[str, Backend] | None = None,
    template_dirs: Sequence[str | Path] = (),
    checkpointer: Any = None,
    image_limits: ImageLimits | None = None,
) -> Any:
    """Compile the routing graph for ``profile`` (a name, a YAML path or a Profile).

    The graph builds its own backend pool (``backends`` adds ready instances by name),
    dispatcher, thinking-budget controller and, unless one is given, the profile's
    classifier. Its state is :class:`RouterState`: pass ``{"request": RouteRequest}``
    or ``{"messages": [...]}``; the answer is ``state["result"]`` and an ``AIMessage``.

    Raises:
        ConfigError: as :func:`assemble`.
    """
    return assemble(
        profile,
        classifier=classifier,
        backends=backends,
        template_dirs=template_dirs,
        checkpointer=checkpointer,
        image_limits=image_limits,
    ).graph

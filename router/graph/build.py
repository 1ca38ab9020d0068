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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END, START, StateGraph
from qwen_router.backends.base import Backend
from qwen_router.backends.dispatch import Dispatcher
from qwen_router.backends.registry import BackendPool
from qwen_router.tools.budget import arun_with_budget, run_with_budget

from ..classify.base import Classifier
from ..images import ImageLimits
from ..observability.calls import CallObserver
from ..observability.health import HealthMonitor
from ..observability.tracing import annotate_node, node_span
from ..profiles import Profile, load_profile
from .assets import CompiledAssets, compile_assets
from .nodes import Generator, Responder, Verifier, after_generate, after_verify, repair
from .planning import Planner
from .state import RouterState, RunState

__all__ = ["GraphParts", "RouterState", "assemble", "build_graph"]


class _Node(Runnable[Any, Any]):
    """A graph node (or edge function) with a sync and an async body, called directly.

    LangGraph runs a plain sync function of an async run in a worker thread, and
    ``RunnableLambda`` inspects its function's signature on every call. The routing
    nodes are microseconds of CPU work, less than a thread hop, so their async body
    runs on the event loop (``afunc=None``); a node that may block passes an ``afunc``
    that says how it leaves the loop. ``with_config`` nodes get the run's config (for
    callbacks). The node's run is still traced by LangGraph, under its name.
    """

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        afunc: Callable[..., Awaitable[Any]] | None = None,
        *,
        with_config: bool = False,
    ) -> None:
        self.name = name
        self.func = func
        self.afunc = afunc
        self.with_config = with_config

    traced = False  # a graph node (a span per run), not an edge function

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        with node_span(self.name, self.traced) as span:
            out = self.func(input, config) if self.with_config else self.func(input)
            if span is not None:
                annotate_node(span, *_decided(self.name, out))
            return out

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        if self.afunc is None:
            return self.invoke(input, config)
        with node_span(self.name, self.traced) as span:
            out = await (self.afunc(input, config) if self.with_config else self.afunc(input))
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
class GraphParts:
    """The compiled graph and the live parts it runs on (the Router keeps them)."""

    graph: Any  # langgraph CompiledStateGraph
    profile: Profile
    classifier: Classifier
    pool: BackendPool
    dispatcher: Dispatcher
    assets: CompiledAssets


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
        _Node("plan", planner.plan, planner.aplan, with_config=True),
        _Node("generate", generator.generate, generator.agenerate, with_config=True),
        _Node("verify", verifier.verify, verifier.averify),
        _Node("repair", functools.partial(repair, assets=assets)),
        _Node("respond", Responder().respond),
    ]
    graph = StateGraph(RouterState)
    for node in nodes:
        node.traced = True
        graph.add_node(node.name, node)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "generate")
    graph.add_conditional_edges(
        "generate", _Node("after_generate", after_generate), ["verify", "respond"]
    )
    graph.add_conditional_edges(
        "verify", _Node("after_verify", after_verify), ["repair", "respond"]
    )
    graph.add_edge("repair", "generate")
    graph.add_edge("respond", END)
    compiled = graph.compile(checkpointer=checkpointer, name="qwen-router")
    return GraphParts(compiled, loaded, classifier, pool, dispatcher, assets)


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

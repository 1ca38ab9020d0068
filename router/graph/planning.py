"""The planning node: guard, classify, select and render in one superstep.

Each stage still leaves its own :class:`TraceEvent` (``guard``, ``classify``,
``select``, ``render``), so the trace reads as before; only LangGraph's bookkeeping
between them is gone. A request that carries its ``decision`` (the server planned it)
skips classification; a run whose config carries the caller's whole plan under
:data:`PLANNED` (``config["configurable"]``) skips the policy too, so the model the
caller gated and checked is the model the graph runs. A run whose config sets
:data:`ANSWER_ONLY` is read for its ``result`` alone (the server's non-streamed
answers): its nodes leave no trace steps and no ``AIMessage``, which nothing would
read (a stream keeps them: its node events are the steps).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qwen_router.classify.base import Classifier
from qwen_router.errors import InputError
from qwen_router.images import ImageLimits, guard_images
from qwen_router.lc import from_langchain
from qwen_router.policy import Selection, decide
from qwen_router.profiles import Profile
from qwen_router.prompts import PromptTemplate
from qwen_router.types import Message, RouteDecision, RouteRequest, TraceEvent

from ..observability.tracing import tracer
from .assets import CompiledAssets
from .run_state import RunState, trace_event

if TYPE_CHECKING:
    from .state import RouterState

__all__ = [
    "ANSWER_ONLY",
    "MAX_TEXT_CHARS",
    "PLANNED",
    "Planner",
    "planned_config",
]

MAX_TEXT_CHARS = 1_000_000

# the configurable key of a plan decided before the run: (RouteDecision, Selection)
PLANNED = "qwen_router_planned"
# the configurable key of a run whose caller reads only ``state["result"]``
ANSWER_ONLY = "qwen_router_answer_only"


def planned_config(
    decision: RouteDecision, selection: Selection, *, answer_only: bool = False
) -> dict[str, Any]:
    """A run config that hands the graph a plan already decided (``decide``'s output
    for a request whose ``decision`` is set): the graph neither classifies nor
    re-runs the policy. ``answer_only``: the caller reads only the result (no trace
    steps, no ``AIMessage``)."""
    configurable: dict[str, Any] = {PLANNED: (decision, selection)}
    if answer_only:
        configurable[ANSWER_ONLY] = True
    return {"configurable": configurable}


def _configurable(config: Any) -> Mapping[str, Any]:
    return (config or {}).get("configurable") or {}


def _answer_only(config: Any) -> bool:
    """An :data:`ANSWER_ONLY` run, unless spans record: a node's span carries an event
    per step, so a traced run keeps its steps."""
    return _configurable(config).get(ANSWER_ONLY) is True and tracer() is None


def _planned(config: Any) -> tuple[RouteDecision, Selection] | None:
    planned = _configurable(config).get(PLANNED)
    if isinstance(planned, tuple) and len(planned) == 2:
        return planned  # type: ignore[return-value]
    return None

AsyncClassify = Callable[[Sequence[Message]], Awaitable[RouteDecision]]


def _guard(state: RouterState, limits: ImageLimits) -> tuple[RouteRequest, dict[str, Any]]:
    request = state.get("request") or RouteRequest(
        messages=from_langchain(state.get("messages", []))
    )
    messages = request.messages
    if not messages:
        raise InputError("no messages: send at least one user message")
    last_user = next((m for m in reversed(messages) if m.role == "user"), None)
    if last_user is None:
        raise InputError("no user message in the conversation")
    if not last_user.text.strip() and not last_user.images:
        raise InputError("the last user message is empty")
    size = sum(len(m.text) for m in messages)
    if size > MAX_TEXT_CHARS:
        raise InputError(f"{size} characters of text is over the limit of {MAX_TEXT_CHARS}")
    images = guard_images(messages, limits) if any(m.images for m in messages) else []
    return request, {"messages": len(messages), "images": len(images), "chars": size}


class Planner:
    """The ``plan`` node's sync and async bodies, bound to one graph's parts."""

    def __init__(
        self,
        profile: Profile,
        classifier: Classifier,
        assets: CompiledAssets,
        limits: ImageLimits,
        known_backends: Callable[[], Collection[str]],
    ) -> None:
        self.profile = profile
        self.classifier = classifier
        self.aclassify: AsyncClassify | None = getattr(classifier, "aclassify", None)
        self.assets = assets
        self.limits = limits
        self.known_backends = known_backends

    def plan(self, state: RouterState, config: Any = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        request, guard = _guard(state, self.limits)
        t1 = time.perf_counter()
        decision = request.decision or self.classifier.classify(request.messages)
        times = (t0, t1, time.perf_counter())
        return self._finish(
            request, decision, guard, times, _planned(config), _answer_only(config)
        )

    async def aplan(self, state: RouterState, config: Any = None) -> dict[str, Any]:
        """Images are decoded, and a classifier without an async path runs (it may load
        an embedding model), in a worker thread; the rest stays on the event loop."""
        t0 = time.perf_counter()
        request = state.get("request")
        if request is None or any(m.images for m in request.messages):
            request, guard = await asyncio.to_thread(_guard, state, self.limits)
        else:
            request, guard = _guard(state, self.limits)
        t1 = time.perf_counter()
        if request.decision is not None:
            decision = request.decision
        elif self.aclassify is not None:
            decision = await self.aclassify(request.messages)
        else:
            decision = await asyncio.to_thread(self.classifier.classify, request.messages)
        times = (t0, t1, time.perf_counter())
        return self._finish(
            request, decision, guard, times, _planned(config), _answer_only(config)
        )

    def _finish(
        self,
        request: RouteRequest,
        decision: RouteDecision,
        guard: dict[str, Any],
        times: tuple[float, float, float],
        planned: tuple[RouteDecision, Selection] | None = None,
        answer_only: bool = False,
    ) -> dict[str, Any]:
        t0, t1, t2 = times
        if planned is not None and request.decision is not None:
            decision, selection = planned
        else:
            decision, selection = decide(
                decision, self.profile, request, known_backends=self.known_backends()
            )
        t3 = time.perf_counter()
        template = self.assets.template(selection.template)
        prompt = template.render(request.messages, lang=decision.lang)
        t4 = time.perf_counter()
        trace = [] if answer_only else _plan_steps(
            request, decision, selection, template, guard, (t0, t1, t2, t3, t4)
        )
        run = RunState(
            request=request,
            started=t0,
            decision=decision,
            selection=selection,
            prompt=prompt,
            timings={"classify_ms": (t2 - t1) * 1000},
            trace=trace,
            fresh=len(trace),
            answer_only=answer_only,
        )
        return {"request": None, "run": run}


def _plan_steps(
    request: RouteRequest,
    decision: RouteDecision,
    selection: Selection,
    template: PromptTemplate,
    guard: dict[str, Any],
    times: tuple[float, float, float, float, float],
) -> list[TraceEvent]:
    """The plan node's four steps: guard, classify, select and render."""
    t0, t1, t2, t3, t4 = times
    classify_detail = {"route": decision.route, "labels": decision.labels, "stage": decision.stage}
    if request.decision is not None:
        classify_detail["planned"] = True
    return [
        trace_event("guard", t0, t1, guard),
        trace_event("classify", t1, t2, classify_detail),
        trace_event(
            "select",
            t2,
            t3,
            {
                "route": selection.route,
                "models": [str(c) for c in selection.candidates],
                "template": selection.template,
                "thinking": selection.thinking,
                "reasons": selection.reasons,
            },
        ),
        trace_event("render", t3, t4, {"template": template.name, "source": template.source}),
    ]


"""The routing flow as one LangGraph graph over one typed state.

    guard -> classify -> select -> render -> generate -> verify --ok--> respond
                                                ^          |
                                                +-repair---+

``messages`` holds langchain messages (``add_messages`` reducer), so the compiled
graph is usable as a subgraph of any ``MessagesState`` agent: it reads the
conversation and appends one ``AIMessage`` with the routed answer.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from qwen_router.backends.base import Backend, Chunk, GenerateRequest, GenerateResult
from qwen_router.backends.dispatch import Attempt, AsyncRunner, Dispatcher, Runner
from qwen_router.prompts import load_template
from qwen_router.tools.verifiers import get_verifier

from .classify.base import Classifier
from .errors import InputError
from .images import ImageLimits, guard_images
from .lc import from_langchain
from .policy import Selection, decide
from .profiles import ModelSpec, Profile
from .types import Message, RouteDecision, RouteRequest, RouteResult, Timings, TraceEvent, Usage, Verification

__all__ = ["RouterState", "build_graph"]

MAX_TEXT_CHARS = 1_000_000
_RANK = {"verified": 3, "skipped": 2, "unverifiable": 2, "refuted": 0}


class RouterState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    request: RouteRequest
    started: float
    decision: RouteDecision
    selection: Selection
    prompt: list[Message]
    generation: GenerateResult
    answered_by: str
    verification: Verification
    best: dict[str, Any]
    repairs: int
    usage: Usage
    timings: dict[str, float]
    trace: Annotated[list[TraceEvent], operator.add]
    attempts: Annotated[list[Attempt], operator.add]
    result: RouteResult


class _Node(Runnable[Any, Any]):
    """A graph node (or edge function) with a sync and an async body, called directly.

    LangGraph runs a plain sync function of an async run in a worker thread, and
    ``RunnableLambda`` inspects its function's signature on every call. The routing
    nodes are microseconds of CPU work, less than a thread hop, so their async body
    runs on the event loop (``afunc=None``); a node that may block (verifiers, image
    decoding, a classifier loading a model) passes an ``afunc`` that says how it
    leaves the loop. The node's run is still traced by LangGraph, under its name.
    """

    def __init__(
        self,
        name: str,
        func: Callable[[Any], Any],
        afunc: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> None:
        self.name = name
        self.func = func
        self.afunc = afunc

    def invoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        return self.func(input)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        if self.afunc is None:
            return self.func(input)
        return await self.afunc(input)


def _in_thread(func: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
    async def run(state: Any) -> Any:
        return await asyncio.to_thread(func, state)

    return run


def _traced(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Time a node and add a TraceEvent built from its ``_detail`` key."""

    def wrap(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(fn)
        def node(state: RouterState, **kwargs: Any) -> dict[str, Any]:
            start = time.perf_counter()
            update = fn(state, **kwargs)
            return _with_trace(name, start, update)

        return node

    return wrap


def _with_trace(name: str, start: float, update: dict[str, Any]) -> dict[str, Any]:
    ms = (time.perf_counter() - start) * 1000
    detail = update.pop("_detail", {})
    update["trace"] = [TraceEvent(node=name, ms=round(ms, 3), detail=detail)]
    timings = update.pop("_timing", None)
    if timings:
        update["timings"] = timings
    return update


def _last_user_text(messages: Sequence[Message]) -> str:
    return next((m.text for m in reversed(messages) if m.role == "user"), "")


@_traced("guard")
def _guard(state: RouterState, limits: ImageLimits) -> dict[str, Any]:
    request = state.get("request") or RouteRequest(messages=from_langchain(state.get("messages", [])))
    messages = request.messages
    if not messages:
        raise InputError("no messages: send at least one user message")
    users = [m for m in messages if m.role == "user"]
    if not users:
        raise InputError("no user message in the conversation")
    if not users[-1].text.strip() and not users[-1].images:
        raise InputError("the last user message is empty")
    size = sum(len(m.text) for m in messages)
    if size > MAX_TEXT_CHARS:
        raise InputError(f"{size} characters of text is over the limit of {MAX_TEXT_CHARS}")
    images = guard_images(messages, limits)
    return {
        "request": request,
        "started": state.get("started") or time.perf_counter(),
        "repairs": 0,
        "usage": Usage(),
        "timings": {},
        "_detail": {"messages": len(messages), "images": len(images), "chars": size},
    }


async def _aguard(state: RouterState, limits: ImageLimits) -> dict[str, Any]:
    """Images are decoded in a worker thread; text-only requests stay on the loop."""
    request = state.get("request")
    if request is None or any(m.images for m in request.messages):
        return await asyncio.to_thread(_guard, state, limits=limits)
    return _guard(state, limits=limits)


@_traced("classify")
def _classify(state: RouterState, classifier: Classifier) -> dict[str, Any]:
    start = time.perf_counter()
    return _classified(state, classifier.classify(state["request"].messages), start)


async def _aclassify(
    state: RouterState,
    classifier: Callable[[Sequence[Message]], Awaitable[RouteDecision]],
) -> dict[str, Any]:
    start = time.perf_counter()
    decision = await classifier(state["request"].messages)
    return _with_trace("classify", start, _classified(state, decision, start))


def _classified(
    state: RouterState, decision: RouteDecision, start: float
) -> dict[str, Any]:
    ms = (time.perf_counter() - start) * 1000
    return {
        "decision": decision,
        "_timing": {**state.get("timings", {}), "classify_ms": ms},
        "_detail": {"route": decision.route, "labels": decision.labels, "stage": decision.stage},
    }


@_traced("select")
def _select(state: RouterState, profile: Profile) -> dict[str, Any]:
    decision, selection = decide(state["decision"], profile, state["request"])
    return {
        "decision": decision,
        "selection": selection,
        "_detail": {
            "route": selection.route,
            "models": [str(c) for c in selection.candidates],
            "template": selection.template,
            "thinking": selection.thinking,
            "reasons": selection.reasons,
        },
    }


@_traced("render")
def _render(state: RouterState, template_dirs: Sequence[Path]) -> dict[str, Any]:
    selection, decision = state["selection"], state["decision"]
    template = load_template(selection.template, template_dirs)
    prompt = template.render(state["request"].messages, lang=decision.lang)
    return {"prompt": prompt, "_detail": {"template": template.name, "source": template.source}}


def _make_request(state: RouterState) -> Callable[[ModelSpec, Backend], GenerateRequest]:
    selection = state["selection"]

    def make(spec: ModelSpec, backend: Backend) -> GenerateRequest:
        thinking = selection.thinking if backend.capabilities.thinking else None
        return GenerateRequest(
            model=spec.name,
            messages=state["prompt"],
            params=selection.params,
            thinking=thinking,
            thinking_budget=selection.thinking_budget if thinking else None,
            response_format=state["request"].response_format,
        )

    return make


def _after_generation(state: RouterState, spec: ModelSpec | None, result: GenerateResult | None, attempts: list[Attempt], start: float) -> dict[str, Any]:
    assert spec is not None and result is not None
    timings = dict(state.get("timings", {}))
    timings["generate_ms"] = timings.get("generate_ms", 0.0) + result.generate_ms
    timings["load_ms"] = timings.get("load_ms", 0.0) + result.load_ms
    timings["thinking_ms"] = timings.get("thinking_ms", 0.0) + result.thinking_ms
    if "first_token_ms" not in timings and result.first_token_ms is not None:
        timings["first_token_ms"] = result.first_token_ms
    return {
        "generation": result,
        "answered_by": str(spec),
        "attempts": attempts,
        "usage": state.get("usage", Usage()) + result.usage,
        "_timing": timings,
        "_detail": {
            "model": str(spec),
            "attempts": [a.model_dump(exclude_none=True) for a in attempts],
            "tokens": result.usage.completion_tokens,
            "finish_reason": result.finish_reason,
        },
    }


def _writer() -> Callable[[Any], None]:
    try:
        return get_stream_writer()
    except Exception:  # outside a streaming run there is nowhere to write
        return lambda _chunk: None


class _Collector:
    """Forwards streamed tokens to the LangGraph stream writer and keeps the result."""

    def __init__(self) -> None:
        self.start, self.attempts, self.write = time.perf_counter(), [], _writer()
        self.spec: ModelSpec | None = None
        self.result: GenerateResult | None = None

    def add(self, spec: ModelSpec, chunk: Chunk) -> None:
        self.spec = spec
        if chunk.text or chunk.thinking:
            self.write({"type": "token", "text": chunk.text, "thinking": chunk.thinking, "model": str(spec)})
        if chunk.done:
            self.result = chunk.result

    def update(self, state: RouterState) -> dict[str, Any]:
        update = _after_generation(state, self.spec, self.result, self.attempts, self.start)
        return _with_trace("generate", self.start, update)


def _generate(state: RouterState, dispatcher: Dispatcher, run: Runner | None) -> dict[str, Any]:
    out = _Collector()
    for spec, chunk in dispatcher.stream(state["selection"].candidates, _make_request(state), out.attempts, run=run):
        out.add(spec, chunk)
    return out.update(state)


async def _agenerate(state: RouterState, dispatcher: Dispatcher, run: AsyncRunner | None) -> dict[str, Any]:
    out = _Collector()
    async for spec, chunk in dispatcher.astream(state["selection"].candidates, _make_request(state), out.attempts, run=run):
        out.add(spec, chunk)
    return out.update(state)


def _run_verifiers(state: RouterState) -> dict[str, Any]:
    start = time.perf_counter()
    question = _last_user_text(state["request"].messages)
    answer = state["generation"].text
    verification: Verification | None = None
    for name in state["selection"].verifiers:
        verification = get_verifier(name)(question, answer)
        if verification.status == "refuted":
            break
    assert verification is not None
    candidate = {"generation": state["generation"], "verification": verification, "answered_by": state["answered_by"]}
    best = state.get("best")
    if best is None or _RANK[verification.status] >= _RANK[best["verification"].status]:
        best = candidate
    timings = dict(state.get("timings", {}))
    timings["verify_ms"] = timings.get("verify_ms", 0.0) + (time.perf_counter() - start) * 1000
    return _with_trace(
        "verify",
        start,
        {
            "verification": verification,
            "best": best,
            "_timing": timings,
            "_detail": verification.model_dump(exclude_none=True),
        },
    )


def _after_generate(state: RouterState) -> Literal["verify", "respond"]:
    return "verify" if state["selection"].verifiers else "respond"


def _after_verify(state: RouterState) -> Literal["repair", "respond"]:
    refuted = state["verification"].status == "refuted"
    return "repair" if refuted and state.get("repairs", 0) < state["selection"].max_repairs else "respond"


@_traced("repair")
def _repair(state: RouterState, template_dirs: Sequence[Path]) -> dict[str, Any]:
    finding = state["verification"].explanation or "the final answer does not check out"
    feedback = load_template("repair", template_dirs).render(
        [Message(role="user", content="")], finding=finding
    )[-1]
    prompt = [*state["prompt"], Message(role="assistant", content=state["generation"].text), feedback]
    return {"prompt": prompt, "repairs": state.get("repairs", 0) + 1, "_detail": {"finding": finding}}


@_traced("respond")
def _respond(state: RouterState) -> dict[str, Any]:
    best = state.get("best") or {
        "generation": state["generation"],
        "verification": state.get("verification"),
        "answered_by": state["answered_by"],
    }
    generation: GenerateResult = best["generation"]
    timings = Timings(**{**state.get("timings", {}), "total_ms": (time.perf_counter() - state["started"]) * 1000})
    result = RouteResult(
        answer=generation.text,
        thinking=generation.thinking,
        decision=state["decision"],
        model=best["answered_by"],
        backend=best["answered_by"].split(":", 1)[0],
        verification=best["verification"],
        usage=state.get("usage", generation.usage),
        timings=timings,
        trace=list(state.get("trace", [])),
        finish_reason=generation.finish_reason,
        thinking_budget_hit=generation.budget_hit,
        repairs=state.get("repairs", 0),
    )
    meta = {"route": result.route, "model": result.model, "confidence": result.decision.confidence}
    return {
        "result": result,
        "messages": [AIMessage(content=result.answer, response_metadata={"qwen_router": meta})],
        "_detail": meta,
    }


def build_graph(
    profile: Profile,
    *,
    classifier: Classifier,
    dispatcher: Dispatcher,
    template_dirs: Sequence[str | Path] = (),
    image_limits: ImageLimits | None = None,
    run: Runner | None = None,
    arun: AsyncRunner | None = None,
    checkpointer: Any = None,
) -> Any:
    """Compile the routing graph. The one way the rest of the package builds it."""
    dirs = [Path(d) for d in template_dirs]
    if profile.templates_dir:
        dirs.append(Path(profile.templates_dir))
    limits = image_limits or ImageLimits()
    partial = functools.partial
    classify = partial(_classify, classifier=classifier)
    aclassify = getattr(classifier, "aclassify", None)
    nodes = [
        _Node("guard", partial(_guard, limits=limits), partial(_aguard, limits=limits)),
        # a classifier may run an embedding model: off the loop, unless it has an
        # async path of its own (the server's precomputed decisions do)
        _Node(
            "classify",
            classify,
            partial(_aclassify, classifier=aclassify)
            if aclassify
            else _in_thread(classify),
        ),
        _Node("select", partial(_select, profile=profile)),
        _Node("render", partial(_render, template_dirs=dirs)),
        _Node(
            "generate",
            partial(_generate, dispatcher=dispatcher, run=run),
            partial(_agenerate, dispatcher=dispatcher, run=arun),
        ),
        _Node("verify", _run_verifiers, _in_thread(_run_verifiers)),  # sympy: a thread
        _Node("repair", partial(_repair, template_dirs=dirs)),
        _Node("respond", _respond),
    ]
    graph = StateGraph(RouterState)
    for node in nodes:
        graph.add_node(node.name, node)
    graph.add_edge(START, "guard")
    graph.add_edge("guard", "classify")
    graph.add_edge("classify", "select")
    graph.add_edge("select", "render")
    graph.add_edge("render", "generate")
    graph.add_conditional_edges(
        "generate", _Node("after_generate", _after_generate), ["verify", "respond"]
    )
    graph.add_conditional_edges(
        "verify", _Node("after_verify", _after_verify), ["repair", "respond"]
    )
    graph.add_edge("repair", "generate")
    graph.add_edge("respond", END)
    return graph.compile(checkpointer=checkpointer, name="qwen-router")

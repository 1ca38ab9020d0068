"""``Router``: the library entry point, following LangChain Runnable conventions."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from qwen_router.backends.base import Backend

from .classify.base import Classifier
from .images import ImageLimits
from .observability.tracing import atraced_stream, trace_request, traced_stream
from .profiles import Profile
from .tool_routing import ToolLoopMemory, pin_tool_loop
from .types import (
    GenerationParams,
    MessagesInput,
    RouteDecision,
    RouteRequest,
    RouteResult,
    normalize_messages,
)

__all__ = ["Router", "RouterEvent"]


class RouterEvent(BaseModel):
    """One item of :meth:`Router.stream`: a token, a finished node, or the result."""

    type: Literal["token", "node", "result"]
    text: str = ""
    thinking: str = ""
    node: str | None = None
    data: dict[str, Any] | None = None
    result: RouteResult | None = None
    model: str = ""  # a token's: the BACKEND:MODEL that generated it (a fallback too)


class Router:
    """Route requests to the right model of a profile.

    ``Router()`` uses the offline ``local`` profile. Pass a profile name or YAML path,
    a ``Classifier``, or ready ``backends`` (name -> instance) to override parts.
    The compiled LangGraph graph is ``router.graph``.
    """

    def __init__(
        self,
        profile: str | Path | Profile | None = None,
        *,
        classifier: Classifier | None = None,
        backends: Mapping[str, Backend] | None = None,
        template_dirs: Sequence[str | Path] = (),
        image_limits: ImageLimits | None = None,
        checkpointer: Any = None,
    ) -> None:
        from .graph import assemble

        self._parts = parts = assemble(
            profile,
            classifier=classifier,
            backends=backends,
            template_dirs=template_dirs,
            image_limits=image_limits,
            checkpointer=checkpointer,
        )
        self.profile = parts.profile
        self.pool = parts.pool
        self.classifier = parts.classifier
        self.dispatcher = parts.dispatcher
        self.assets = parts.assets
        self.tool_loops = ToolLoopMemory()  # which model made each tool call handed out

    @property
    def graph(self) -> Any:
        """The compiled LangGraph graph (``CompiledStateGraph``), built on first use:
        a subgraph for your own graph, checkpointed threads, LangGraph streaming."""
        return self._parts.graph

    # --- inputs ---------------------------------------------------------------------
    def _state(self, input: MessagesInput | RouteRequest, options: dict[str, Any]) -> dict[str, Any]:
        if isinstance(input, RouteRequest):
            request = input.model_copy(update={k: v for k, v in options.items() if v is not None})
        else:
            params = options.pop("params", None)
            if isinstance(params, Mapping):
                params = GenerationParams(**params)
            request = RouteRequest(messages=normalize_messages(input), params=params, **options)
        return {"request": pin_tool_loop(request, self.tool_loops)}

    def _answered(self, result: RouteResult) -> RouteResult:
        self.tool_loops.remember(result)
        return result

    # --- Runnable-style API ------------------------------------------------------------
    def invoke(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> RouteResult:
        """Route and answer one request.

        Options: ``route``, ``model`` (a ``BACKEND:MODEL`` spec), ``params``,
        ``thinking``, ``thinking_budget``, ``response_format``, ``metadata``.

        Raises:
            RouterError: a subclass saying what went wrong (bad input, backend down...).
        """
        start = self._state(input, options)
        with trace_request(start["request"]) as span:
            state = self._parts.invoke(start, config)
            return span.done(self._answered(state["result"]))

    async def ainvoke(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> RouteResult:
        start = self._state(input, options)
        with trace_request(start["request"]) as span:
            state = await self._parts.ainvoke(start, config)
            return span.done(self._answered(state["result"]))

    def stream(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> Iterator[RouterEvent]:
        """Yield tokens as they are generated, each finished node, then the result."""
        start = self._state(input, options)
        steps = self._parts.stream(start, config)
        for mode, payload in traced_stream(start["request"], steps):
            for event in _events(mode, payload):
                if event.result is not None:
                    self._answered(event.result)
                yield event

    async def astream(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> AsyncIterator[RouterEvent]:
        start = self._state(input, options)
        steps = self._parts.astream(start, config)
        async for mode, payload in atraced_stream(start["request"], steps):
            for event in _events(mode, payload):
                if event.result is not None:
                    self._answered(event.result)
                yield event

    def batch(self, inputs: Sequence[MessagesInput | RouteRequest], config: Any = None, *, max_concurrency: int = 4, **options: Any) -> list[RouteResult]:
        """Answer many requests, at most ``max_concurrency`` at a time, in input order."""
        with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
            return list(pool.map(lambda item: self.invoke(item, config, **dict(options)), inputs))

    async def abatch(self, inputs: Sequence[MessagesInput | RouteRequest], config: Any = None, *, max_concurrency: int = 8, **options: Any) -> list[RouteResult]:
        gate = asyncio.Semaphore(max(1, max_concurrency))

        async def one(item: MessagesInput | RouteRequest) -> RouteResult:
            async with gate:
                return await self.ainvoke(item, config, **dict(options))

        return list(await asyncio.gather(*(one(i) for i in inputs)))

    def classify(self, input: MessagesInput) -> RouteDecision:
        """The classifier's decision for ``input`` (no generation)."""
        return self.classifier.classify(normalize_messages(input))

    def warm_up(self) -> None:
        """Load now what the first request would wait for (blocking: call it from a
        thread in async code): the classifier's models (language id, the embedding
        index) and each verifier's worker (math: a sympy process). A classifier or
        verifier opts in with a ``warm_up()`` method (a verifier's module may hold it).

        Raises:
            ConfigError: the embedding stage is on but its model is not installed.
        """
        classifier = getattr(self.classifier, "inner", self.classifier)  # the server's wrapper
        warm = getattr(classifier, "warm_up", None)
        if warm is not None:
            warm()
        for name in sorted(self.assets.verifier_names):
            verifier = self.assets.verifier(name)
            warm = getattr(verifier, "warm_up", None)
            if warm is None:
                module = sys.modules.get(getattr(verifier, "__module__", "") or "")
                warm = getattr(module, "warm_up", None)
            if warm is not None:
                warm()

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self.pool.close()

    async def aclose(self) -> None:
        await self.pool.aclose()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _events(mode: str, payload: Any) -> Iterator[RouterEvent]:
    if mode == "custom" and isinstance(payload, dict) and payload.get("type") == "token":
        yield RouterEvent(
            type="token",
            text=payload["text"],
            thinking=payload.get("thinking", ""),
            model=payload.get("model", ""),
        )
        return
    if mode != "updates" or not isinstance(payload, dict):
        return
    for update in payload.values():
        # one event per step of the trace: ``plan`` reports guard, classify, select, render
        run = (update or {}).get("run")
        for step in run.steps if run is not None else ():
            yield RouterEvent(type="node", node=step.node, data=step.detail)
        if update and "result" in update:
            yield RouterEvent(type="result", result=update["result"])

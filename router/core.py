"""``Router``: the library entry point, following LangChain Runnable conventions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from qwen_router.backends.base import Backend
from qwen_router.backends.dispatch import Dispatcher
from qwen_router.backends.registry import BackendPool

from .classify import Classifier, default_classifier
from .graph import build_graph
from .images import ImageLimits
from .profiles import Profile, load_profile
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
        self.profile = load_profile(profile)
        self.pool = BackendPool(self.profile.backends, instances=backends)
        self.classifier = classifier or default_classifier(self.profile)
        self.dispatcher = Dispatcher(self.pool.get, self.profile.retry)
        runners = _thinking_runners()
        self.graph = build_graph(
            self.profile,
            classifier=self.classifier,
            dispatcher=self.dispatcher,
            template_dirs=template_dirs,
            image_limits=image_limits,
            run=runners[0],
            arun=runners[1],
            checkpointer=checkpointer,
        )

    # --- inputs ---------------------------------------------------------------------
    def _state(self, input: MessagesInput | RouteRequest, options: dict[str, Any]) -> dict[str, Any]:
        if isinstance(input, RouteRequest):
            request = input.model_copy(update={k: v for k, v in options.items() if v is not None})
        else:
            params = options.pop("params", None)
            if isinstance(params, Mapping):
                params = GenerationParams(**params)
            request = RouteRequest(messages=normalize_messages(input), params=params, **options)
        return {"request": request}

    # --- Runnable-style API ------------------------------------------------------------
    def invoke(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> RouteResult:
        """Route and answer one request.

        Options: ``route``, ``model`` (a ``BACKEND:MODEL`` spec), ``params``,
        ``thinking``, ``thinking_budget``, ``response_format``, ``metadata``.

        Raises:
            RouterError: a subclass saying what went wrong (bad input, backend down...).
        """
        state = self.graph.invoke(self._state(input, options), config)
        return state["result"]  # type: ignore[no-any-return]

    async def ainvoke(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> RouteResult:
        state = await self.graph.ainvoke(self._state(input, options), config)
        return state["result"]  # type: ignore[no-any-return]

    def stream(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> Iterator[RouterEvent]:
        """Yield tokens as they are generated, each finished node, then the result."""
        for mode, payload in self.graph.stream(
            self._state(input, options), config, stream_mode=["custom", "updates"]
        ):
            yield from _events(mode, payload)

    async def astream(self, input: MessagesInput | RouteRequest, config: Any = None, **options: Any) -> AsyncIterator[RouterEvent]:
        async for mode, payload in self.graph.astream(
            self._state(input, options), config, stream_mode=["custom", "updates"]
        ):
            for event in _events(mode, payload):
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
        yield RouterEvent(type="token", text=payload["text"], thinking=payload.get("thinking", ""))
        return
    if mode != "updates" or not isinstance(payload, dict):
        return
    for node, update in payload.items():
        trace = (update or {}).get("trace") or []
        detail = trace[0].detail if trace else {}
        yield RouterEvent(type="node", node=node, data=detail)
        if update and "result" in update:
            yield RouterEvent(type="result", result=update["result"])


def _thinking_runners() -> tuple[Any, Any]:
    """The thinking-budget controller's runners, when that tool is installed."""
    try:
        from qwen_router.tools.thinking_budget import arun_with_budget, run_with_budget
    except ImportError:
        return None, None
    return run_with_budget, arun_with_budget

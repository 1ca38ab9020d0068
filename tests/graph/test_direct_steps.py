"""The direct stepper (``qwen_router.graph.steps``) runs the compiled graph's nodes and
edges with the same results as LangGraph's Pregel runs them, streams live, stops when
its consumer goes, and hands every run that needs Pregel to the compiled graph."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError
from qwen_router import InputError, Router
from qwen_router.backends.base import (
    BaseBackend,
    Capabilities,
    GenerateRequest,
    RawDelta,
)
from qwen_router.graph.steps import needs_pregel
from support.scripted import ScriptedBackend

MATH = "Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3"
WRONG, RIGHT = "So f'(x) = \\boxed{3x^2 + 4x}", "So f'(x) = \\boxed{3x^2 + 4x - 5}"
PROFILE = (
    "name: scripted\nroutes:\n  general: {model: 'fake:x'}\n"
    "  math: {model: 'fake:x', verifiers: [math], max_repairs: 1}\n"
)


class _Seen(BaseCallbackHandler):
    """Records the chain runs LangChain reports (only Pregel runs report nodes)."""

    def __init__(self) -> None:
        self.chains: list[str] = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.chains.append(kwargs.get("name") or "")


def _router(tmp_path: Path, answers: list[str], **kwargs: Any) -> Router:
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    return Router(profile, backends={"fake": ScriptedBackend(answers)}, **kwargs)


def _summary(result: Any) -> tuple[Any, ...]:
    verification = result.verification.status if result.verification else None
    return (
        result.answer,
        result.route,
        result.repairs,
        verification,
        [e.node for e in result.trace],
        result.usage.completion_tokens,
    )


def test_a_repair_run_answers_the_same_stepped_and_through_pregel(tmp_path: Path) -> None:
    seen = _Seen()
    with _router(tmp_path, [WRONG, RIGHT, WRONG, RIGHT]) as router:
        direct = router.invoke(MATH)
        pregel = router.invoke(MATH, {"callbacks": [seen]})
    # the compiled graph ran, node by node
    assert seen.chains == [
        "qwen-router", "plan", "generate", "verify", "repair", "generate", "verify", "respond",
    ]
    assert _summary(direct) == _summary(pregel)
    assert direct.repairs == 1 and direct.verification is not None
    assert direct.verification.status == "verified"
    assert [e.node for e in direct.trace] == [
        "guard", "classify", "select", "render", "generate", "verify", "repair",
        "generate", "verify",
    ]


def test_stepped_and_pregel_streams_give_the_same_events(tmp_path: Path) -> None:
    with _router(tmp_path, [WRONG, RIGHT, WRONG, RIGHT]) as router:
        direct = [(e.type, e.node, e.text) for e in router.stream(MATH)]
        pregel = [(e.type, e.node, e.text) for e in router.stream(MATH, {"callbacks": [_Seen()]})]
    assert direct == pregel
    assert ("token", None, WRONG) in direct and ("node", "repair", "") in direct
    assert direct[-1][0] == "result"


def test_stepped_and_pregel_async_streams_give_the_same_events(tmp_path: Path) -> None:
    async def events(router: Router, config: Any) -> list[tuple[str, Any, str]]:
        return [(e.type, e.node, e.text) async for e in router.astream(MATH, config)]

    with _router(tmp_path, [WRONG, RIGHT, WRONG, RIGHT]) as router:
        direct = asyncio.run(events(router, None))
        pregel = asyncio.run(events(router, {"callbacks": [_Seen()]}))
    assert direct == pregel and direct[-1][0] == "result"


def test_a_node_error_is_the_same_error_on_both_paths(tmp_path: Path) -> None:
    with _router(tmp_path, []) as router:
        with pytest.raises(InputError, match="no user message"):
            router.invoke([{"role": "assistant", "content": "hi"}])
        with pytest.raises(InputError, match="no user message"):
            router.invoke([{"role": "assistant", "content": "hi"}], {"callbacks": [_Seen()]})
        with pytest.raises(InputError, match="no user message"):
            list(router.stream([{"role": "assistant", "content": "hi"}]))


def test_the_recursion_limit_holds_on_both_paths(tmp_path: Path) -> None:
    """A repair run is seven nodes (plan, generate, verify, repair, generate, verify,
    respond): Pregel, counting its input as a step, stops it at a limit of 7 and
    lets it through at 8; so does the stepper."""
    with _router(tmp_path, [WRONG, RIGHT] * 4) as router:
        for config in ({}, {"callbacks": [_Seen()]}):
            with pytest.raises(GraphRecursionError):
                router.invoke(MATH, {"recursion_limit": 7, **config})
            assert router.invoke(MATH, {"recursion_limit": 8, **config}).repairs == 1


class _SlowTokens(BaseBackend):
    """Fault injection, not a model: ``total`` one-word deltas, ``pause`` apart,
    counting how many it produced before its consumer stopped it."""

    name = "slow"
    capabilities = Capabilities()

    def __init__(self, total: int = 200, pause: float = 0.01) -> None:
        self.total, self.pause = total, pause
        self.produced = 0
        self.closed = threading.Event()

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        try:
            for _ in range(self.total):
                self.produced += 1
                yield RawDelta(text="word ", tokens=1)
                time.sleep(self.pause)
        finally:
            self.closed.set()


def test_closing_a_stream_stops_the_run_at_its_next_token(tmp_path: Path) -> None:
    backend = _SlowTokens()
    profile = tmp_path / "p.yaml"
    profile.write_text("name: slow\nroutes:\n  general: {model: 'slow:x'}\n", encoding="utf-8")
    with Router(profile, backends={"slow": backend}) as router:
        stream = router.stream("Say something long.")
        first = next(e for e in stream if e.type == "token")
        stream.close()
        assert first.text == "word "
        assert backend.closed.wait(10)  # the generation ended, not ran on
    assert backend.produced < backend.total


def test_cancelling_an_async_stream_cancels_the_run(tmp_path: Path) -> None:
    backend = _SlowTokens()
    profile = tmp_path / "p.yaml"
    profile.write_text("name: slow\nroutes:\n  general: {model: 'slow:x'}\n", encoding="utf-8")

    async def main(router: Router) -> str:
        stream = router.astream("Say something long.")
        async for event in stream:
            if event.type == "token":
                await stream.aclose()
                return event.text
        return ""

    with Router(profile, backends={"slow": backend}) as router:
        assert asyncio.run(main(router)) == "word "
        assert backend.closed.wait(10)
    assert backend.produced < backend.total


class _EagerTokens(BaseBackend):
    """Fault injection, not a model: an async stream that never suspends between
    its deltas (as a server's buffered tokens arrive), noting each it hands out."""

    name = "eager"
    capabilities = Capabilities()

    def __init__(self, log: list[tuple[str, str]]) -> None:
        self.log = log

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        raise NotImplementedError  # the test streams async only

    async def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:
        for word in ("one ", "two ", "three "):
            self.log.append(("produced", word))
            yield RawDelta(text=word, tokens=1)


@pytest.mark.parametrize("pregel", [False, True], ids=["stepped", "pregel"])
def test_each_token_reaches_the_consumer_before_the_next_is_read(
    tmp_path: Path, pregel: bool
) -> None:
    """Before, a backend whose stream did not suspend between tokens had every
    token produced before the consumer saw the first: the answer streamed at once,
    at its end."""
    log: list[tuple[str, str]] = []
    profile = tmp_path / "p.yaml"
    profile.write_text("name: eager\nroutes:\n  general: {model: 'eager:x'}\n")
    config = {"callbacks": [_Seen()]} if pregel else None  # callbacks need Pregel

    async def main(router: Router) -> None:
        async for event in router.astream("Say three words.", config):
            if event.type == "token":
                log.append(("received", event.text))

    with Router(profile, backends={"eager": _EagerTokens(log)}) as router:
        asyncio.run(main(router))
    assert log == [
        (kind, word)
        for word in ("one ", "two ", "three ")
        for kind in ("produced", "received")
    ]


def test_runs_that_need_pregel_go_through_the_compiled_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not needs_pregel(None, checkpointer=None)
    assert not needs_pregel({"configurable": {"x": 1}, "recursion_limit": 9}, checkpointer=None)
    assert needs_pregel(None, checkpointer=InMemorySaver())
    assert needs_pregel({"callbacks": [_Seen()]}, checkpointer=None)
    # a parent LangChain run: the router called inside someone's Runnable
    inside = RunnableLambda(lambda _: needs_pregel(None, checkpointer=None))
    assert inside.invoke(1) is True
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    assert needs_pregel(None, checkpointer=None)


def test_a_router_called_inside_a_runnable_is_a_child_run(tmp_path: Path) -> None:
    seen = _Seen()
    with _router(tmp_path, ["Paris."]) as router:
        outer = RunnableLambda(lambda text: router.invoke(text).answer, name="outer")
        assert outer.invoke("What is the capital of France?", {"callbacks": [seen]}) == "Paris."
    assert seen.chains[0] == "outer" and "plan" in seen.chains


def test_an_answer_only_run_answers_the_same_without_steps_or_a_message(
    tmp_path: Path,
) -> None:
    """The server's non-streamed runs read only the result: such a run answers exactly
    as a full one, on both paths, and builds no trace steps and no AIMessage."""
    from langchain_core.messages import AIMessage, HumanMessage
    from qwen_router.graph.planning import ANSWER_ONLY

    answer_only = {"configurable": {ANSWER_ONLY: True}}
    with _router(tmp_path, [WRONG, RIGHT] * 4) as router:
        full = router.invoke(MATH)
        lean = router.invoke(MATH, answer_only)
        full_state = router.graph.invoke({"messages": [HumanMessage(MATH)]})
        lean_state = router.graph.invoke(
            {"messages": [HumanMessage(MATH)]}, answer_only
        )
    assert [e.node for e in full.trace][:4] == ["guard", "classify", "select", "render"]
    assert lean.trace == [] and lean_state["result"].trace == []
    assert _summary(lean)[:4] == _summary(full)[:4]  # answer, route, repairs, verdict
    assert lean.repairs == 1 and lean.verification is not None
    assert lean.usage.completion_tokens == full.usage.completion_tokens
    assert lean.timings.total_ms > 0 and lean.timings.generate_ms >= 0
    assert lean_state["result"].answer == full_state["result"].answer == RIGHT
    assert isinstance(full_state["messages"][-1], AIMessage)
    assert [type(m) for m in lean_state["messages"]] == [HumanMessage]

"""The graph's nodes after planning: generate, verify, repair, respond.

Tokens leave ``generate`` two ways: as ``custom`` stream events (``{"type": "token"}``,
what :class:`~qwen_router.core.Router` streams) and, when the run has callback handlers
(LangGraph's ``stream_mode="messages"``, LangSmith tracing), as the tokens of a chat
model run, so a graph that contains this one streams the answer as ``AIMessageChunk``s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk
from qwen_router.backends.base import Backend, Chunk, GenerateRequest, GenerateResult
from qwen_router.backends.dispatch import AsyncRunner, Attempt, Dispatcher, Runner
from qwen_router.observability.throughput import measure_throughput
from qwen_router.profiles import ModelSpec
from qwen_router.structured import STRUCTURED_VERIFIER
from qwen_router.tool_turns import (
    STRUCTURED_REPAIRS,
    request_fields,
    result_tool_calls,
    structured_constraint,
    verify_structured,
)
from qwen_router.tools.math.repair import choose_repair
from qwen_router.types import Message, RouteResult, Timings, TraceEvent

from .assets import REPAIR_TEMPLATE, CompiledAssets
from .run_state import Candidate
from .steps import current_writer

if TYPE_CHECKING:
    from langchain_core.outputs import ChatGenerationChunk, LLMResult
    from langchain_core.runnables import RunnableConfig

    from .state import RouterState

__all__ = ["Generator", "Responder", "Verifier", "after_generate", "after_verify", "repair"]

_LLM = {"name": "qwen-router"}


def _ignore(_chunk: Any) -> None:
    return None


def _writer() -> Callable[[Any], None]:
    """Where this run's custom stream goes: the direct stepper's (:mod:`.steps`), the
    running LangGraph graph's, or nowhere (a run that is not streamed)."""
    writer = current_writer.get()
    if writer is not None:
        return writer
    if "langgraph.pregel" not in sys.modules:  # no LangGraph run can be going on
        return _ignore
    from langgraph.config import get_stream_writer

    try:
        return get_stream_writer()
    except Exception:  # outside a streaming run there is nowhere to write
        return _ignore


def _has_handlers(config: RunnableConfig | None) -> bool:
    callbacks = (config or {}).get("callbacks")
    if callbacks is None:
        return False
    return bool(getattr(callbacks, "handlers", callbacks))


class _Tokens:
    """Where one generation's tokens go, and what it ended with."""

    def __init__(self, config: RunnableConfig | None) -> None:
        self.start = time.perf_counter()
        self.write = _writer()
        self.attempts: list[Attempt] = []
        self.spec: ModelSpec | None = None
        self.result: GenerateResult | None = None
        self.message_id = f"run-{uuid.uuid4()}"
        self.config = config if _has_handlers(config) else None
        self.run: Any = None
        self.constraints: dict[str, str] = {}  # model -> how it holds JSON output

    def add(self, spec: ModelSpec, chunk: Chunk) -> None:
        self.spec = spec
        if chunk.text or chunk.thinking:
            self.write(
                {"type": "token", "text": chunk.text, "thinking": chunk.thinking, "model": str(spec)}
            )
        if chunk.done:
            self.result = chunk.result

    def _message(self, chunk: Chunk, spec: ModelSpec) -> ChatGenerationChunk:
        from langchain_core.outputs import ChatGenerationChunk

        extra = {"reasoning_content": chunk.thinking} if chunk.thinking else {}
        message = AIMessageChunk(
            content=chunk.text,
            id=self.message_id,
            additional_kwargs=extra,
            response_metadata={"model_name": str(spec)},
        )
        return ChatGenerationChunk(message=message)

    def _final(self) -> LLMResult:
        from langchain_core.outputs import ChatGeneration, LLMResult

        text = self.result.text if self.result else ""
        message = AIMessage(content=text, id=self.message_id)
        return LLMResult(generations=[[ChatGeneration(message=message)]])

    # --- sync callbacks ----------------------------------------------------------------
    def open(self) -> None:
        if self.config is not None:
            from langchain_core.runnables.config import get_callback_manager_for_config

            manager = get_callback_manager_for_config(self.config)
            self.run = manager.on_chat_model_start(_LLM, [[]], name="qwen-router")[0]

    def emit(self, spec: ModelSpec, chunk: Chunk) -> None:
        self.add(spec, chunk)
        if self.run is not None and (chunk.text or chunk.thinking):
            self.run.on_llm_new_token(chunk.text, chunk=self._message(chunk, spec))

    def close(self, error: BaseException | None = None) -> None:
        if self.run is not None:
            if error is not None:
                self.run.on_llm_error(error)
            else:
                self.run.on_llm_end(self._final())

    # --- async callbacks ---------------------------------------------------------------
    async def aopen(self) -> None:
        if self.config is not None:
            from langchain_core.runnables.config import (
                get_async_callback_manager_for_config,
            )

            manager = get_async_callback_manager_for_config(self.config)
            self.run = (await manager.on_chat_model_start(_LLM, [[]], name="qwen-router"))[0]

    async def aemit(self, spec: ModelSpec, chunk: Chunk) -> None:
        self.add(spec, chunk)
        if chunk.text or chunk.thinking:
            if self.run is not None:
                await self.run.on_llm_new_token(chunk.text, chunk=self._message(chunk, spec))
            if self.write is not _ignore:
                # the stream's consumer sends this token before this task goes on
                # to read (and decode) the next one
                await asyncio.sleep(0)

    async def aclose(self, error: BaseException | None = None) -> None:
        if self.run is not None:
            if error is not None:
                await self.run.on_llm_error(error)
            else:
                await self.run.on_llm_end(self._final())


class Generator:
    """The ``generate`` node: the dispatcher over the candidates, each attempt run
    through the thinking-budget controller."""

    def __init__(self, dispatcher: Dispatcher, run: Runner, arun: AsyncRunner) -> None:
        self.dispatcher, self.run, self.arun = dispatcher, run, arun

    def generate(self, state: RouterState, config: RunnableConfig | None = None) -> dict[str, Any]:
        out = _Tokens(config)
        out.open()
        try:
            for spec, chunk in self.dispatcher.stream(
                state["run"].selection.candidates,
                _request_factory(state, out.constraints),
                out.attempts,
                run=self.run,
            ):
                out.emit(spec, chunk)
        except BaseException as exc:
            out.close(exc)
            raise
        out.close()
        return _after_generation(state, out)

    async def agenerate(
        self, state: RouterState, config: RunnableConfig | None = None
    ) -> dict[str, Any]:
        out = _Tokens(config)
        await out.aopen()
        try:
            async for spec, chunk in self.dispatcher.astream(
                state["run"].selection.candidates,
                _request_factory(state, out.constraints),
                out.attempts,
                run=self.arun,
            ):
                await out.aemit(spec, chunk)
        except BaseException as exc:
            await out.aclose(exc)
            raise
        await out.aclose()
        return _after_generation(state, out)


def _request_factory(
    state: RouterState, constraints: dict[str, str]
) -> Callable[[ModelSpec, Backend], GenerateRequest]:
    run = state["run"]
    request = run.request
    selection, prompt = run.selection, run.prompt

    def make(spec: ModelSpec, backend: Backend) -> GenerateRequest:
        thinking = selection.thinking if backend.capabilities.thinking else None
        constraints[str(spec)] = structured_constraint(backend.capabilities)
        return GenerateRequest(  # validating ready objects beats model_construct here
            model=spec.name,
            params=selection.params,
            thinking=thinking,
            thinking_budget=selection.thinking_budget if thinking else None,
            **request_fields(request, backend.capabilities, prompt),
        )

    return make


def _after_generation(state: RouterState, out: _Tokens) -> dict[str, Any]:
    spec, result = out.spec, out.result
    assert spec is not None and result is not None
    run = state["run"]
    result = result_tool_calls(  # parallel_tool_calls, and how JSON output was held
        run.request, result.model_copy(update={"structured": out.constraints.get(str(spec))})
    )
    end = time.perf_counter()
    timings = dict(run.timings)
    timings["generate_ms"] = timings.get("generate_ms", 0.0) + result.generate_ms
    timings["load_ms"] = timings.get("load_ms", 0.0) + result.load_ms
    timings["thinking_ms"] = timings.get("thinking_ms", 0.0) + result.thinking_ms
    if "first_token_ms" not in timings and result.first_token_ms is not None:
        timings["first_token_ms"] = result.first_token_ms
    steps = run.step(
        "generate",
        out.start,
        end,
        lambda: {
            "model": str(spec),
            "attempts": [a.model_dump(exclude_none=True) for a in out.attempts],
            "tokens": result.usage.completion_tokens,
            "finish_reason": result.finish_reason,
            "tool_calls": [c.name for c in result.tool_calls],
        },
    )
    selection = run.selection
    if selection.thinking and selection.thinking_budget is not None and not run.answer_only:
        steps.append(
            TraceEvent.model_construct(
                node="thinking_budget",
                ms=round(result.thinking_ms, 3),
                detail={
                    "budget": selection.thinking_budget,
                    "thinking_tokens": result.usage.thinking_tokens,
                    "budget_hit": result.budget_hit,
                    "thought_closed": result.thinking_closed,
                },
            )
        )
    latest = Candidate(generation=result, answered_by=str(spec), message_id=out.message_id)
    return {
        "run": run.advance(
            steps,
            latest=latest,
            attempts=run.attempts + out.attempts,
            usage=result.usage if run.usage is None else run.usage + result.usage,
            timings=timings,
        )
    }


class Verifier:
    """The ``verify`` node: the route's verifiers, in order, until one refutes."""

    def __init__(self, assets: CompiledAssets) -> None:
        self.assets = assets

    def verify(self, state: RouterState) -> dict[str, Any]:
        start = time.perf_counter()
        run = state["run"]
        request = run.request
        latest = run.latest
        assert latest is not None
        question = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        answer = latest.generation.text
        # a response_format is checked instead of the route's verifiers
        verification = verify_structured(request, latest.generation, run.repairs)
        for name in [] if verification is not None else run.selection.verifiers:
            verification = self.assets.verifier(name)(question, answer)
            if verification.status == "refuted":
                break
        assert verification is not None
        latest = dataclasses.replace(latest, verification=verification)
        best = run.best
        if best is None:
            best = latest
        else:  # a repair: never prefer one that parrots the feedback; flag a cut-off one
            assert best.verification is not None
            choice = choose_repair(
                best.verification.status, verification.status, answer,
                feedback=run.prompt[-1].text, finish_reason=latest.generation.finish_reason,
            )
            best = latest if choice.keep_repair else best
            if choice.note:
                kept = best.verification
                assert kept is not None
                note = f"{kept.explanation} ({choice.note})".strip()
                best = dataclasses.replace(
                    best, verification=kept.model_copy(update={"explanation": note})
                )
        end = time.perf_counter()
        timings = dict(run.timings)
        timings["verify_ms"] = timings.get("verify_ms", 0.0) + (end - start) * 1000
        steps = run.step("verify", start, end, lambda: verification.model_dump(exclude_none=True))
        return {"run": run.advance(steps, latest=latest, best=best, timings=timings)}

    async def averify(self, state: RouterState) -> dict[str, Any]:
        return await asyncio.to_thread(self.verify, state)  # sympy: off the loop


def after_generate(state: RouterState) -> Literal["verify", "respond"]:
    run = state["run"]
    assert run.latest is not None
    if run.latest.generation.tool_calls:  # a tool-call turn is never verified or repaired
        return "respond"
    if run.request.response_format is not None:
        return "verify"
    return "verify" if run.selection.verifiers else "respond"


def after_verify(state: RouterState) -> Literal["repair", "respond"]:
    run = state["run"]
    verification = run.latest.verification if run.latest else None
    assert verification is not None
    limit = run.selection.max_repairs
    if verification.verifier == STRUCTURED_VERIFIER:
        limit = STRUCTURED_REPAIRS
    refuted = verification.status == "refuted"
    return "repair" if refuted and run.repairs < limit else "respond"


def repair(state: RouterState, assets: CompiledAssets) -> dict[str, Any]:
    start = time.perf_counter()
    run = state["run"]
    assert run.latest is not None and run.latest.verification is not None
    finding = run.latest.verification.explanation or "the final answer does not check out"
    feedback = assets.template(REPAIR_TEMPLATE).render(
        [Message(role="user", content="")], finding=finding
    )[-1]
    prompt = [
        *run.prompt,
        Message(role="assistant", content=run.latest.generation.text),
        feedback,
    ]
    steps = run.step("repair", start, time.perf_counter(), lambda: {"finding": finding})
    return {"run": run.advance(steps, prompt=prompt, repairs=run.repairs + 1)}


class Responder:
    """The ``respond`` node: the best answer as a RouteResult and an AIMessage (none
    in an ``answer_only`` run)."""

    def respond(self, state: RouterState) -> dict[str, Any]:
        start = time.perf_counter()
        run = state["run"]
        request = run.request
        best = run.best or run.latest
        assert best is not None
        generation = best.generation
        timings = Timings(
            **{
                **run.timings,
                **measure_throughput(generation).timings(),
                "total_ms": (start - run.started) * 1000,
            }
        )
        meta = {
            "route": run.decision.route,
            "model": best.answered_by,
            "confidence": run.decision.confidence,
        }
        steps = run.step("respond", start, time.perf_counter(), lambda: meta)
        result = RouteResult.model_construct(
            answer=generation.text,
            thinking=generation.thinking,
            decision=run.decision,
            model=best.answered_by,
            backend=best.answered_by.split(":", 1)[0],
            verification=best.verification,
            usage=run.usage or generation.usage,
            timings=timings,
            trace=list(run.trace),  # the steps that made the answer
            finish_reason=generation.finish_reason,
            thinking_budget_hit=generation.budget_hit,
            repairs=run.repairs,
            tool_calls=generation.tool_calls,
            invalid_tool_calls=generation.invalid_tool_calls,
            structured=generation.structured if request.response_format else None,
        )
        update: dict[str, Any] = {"result": result, "run": run.advance(steps)}
        if not run.answer_only:
            update["messages"] = [
                AIMessage(
                    content=result.answer,
                    id=best.message_id,
                    tool_calls=[
                        {"id": c.id, "name": c.name, "args": c.arguments}
                        for c in result.tool_calls
                    ],
                    response_metadata={"qwen_router": meta},
                )
            ]
        return update

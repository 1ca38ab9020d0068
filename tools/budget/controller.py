"""The thinking-budget controller: native budgets first, Qwen's two-pass method where
no engine enforces one.

Methods, reported as ``GenerateResult.thinking_method``:

* ``native`` — the backend's engine enforces the budget
  (:class:`~qwen_router.backends.base.NativeThinkingBudget`, e.g. vLLM's
  ``thinking_token_budget``): one plain pass.
* ``continuation`` — the two passes below, continued through
  :class:`~qwen_router.backends.base.RawContinuation`.
* ``restart`` — the backend cannot continue (or turned out not to: a server that
  answered a continuation with a fresh reply): the thought is capped with
  ``max_tokens`` and, when it did not close, the answer is asked for again without
  thinking.

``budget_hit`` is only claimed when one of these enforced the budget.

Qwen documents no native thinking budget for open-source serving, only this: generate
up to the budget; if the thought has not closed, append an early-stop sentence and
``</think>`` ("Considering the limited time by the user, I have to give the solution
based on the thinking directly now.") and continue generating the answer.

:func:`run_with_budget` / :func:`arun_with_budget` are the dispatcher's runners (the
router passes them for every generation). They delegate straight to
``backend.stream`` / ``backend.astream`` when nothing needs controlling: thinking off,
no budget (unlimited), or a model that does not think. Otherwise the thought is opened
in the prompt (``enable_thinking=True`` plus ``<think>\\n`` when the template did not
open it) and :class:`~qwen_router.tools.budget.plan.BudgetPlan` drives the passes
through a :class:`~qwen_router.tools.budget.continuation.Continuer`.

Guarantee: generated thinking tokens ≤ budget (plus the inserted closing sentence),
streaming or not, on every backend; an answer segment always follows the close.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from qwen_router.backends.base import (
    Backend,
    Chunk,
    GenerateRequest,
    GenerateResult,
    NativeThinkingBudget,
)
from qwen_router.errors import ContinuationUnsupported
from qwen_router.thinking import THINK_CLOSE
from qwen_router.thinking.models import thinking_family

from .continuation import Continuer
from .plan import BudgetPlan, Step

__all__ = [
    "BudgetController",
    "PassRecord",
    "agenerate_with_budget",
    "arun_with_budget",
    "delegated_request",
    "generate_with_budget",
    "native_budget",
    "run_with_budget",
]


def delegated_request(
    backend: Backend, request: GenerateRequest
) -> GenerateRequest | None:
    """The request to hand to the backend unchanged, or ``None`` when a budget applies.

    Thinking off, an unlimited budget, or a model that cannot think: nothing to
    control. Budget 0 means thinking off (a model that always thinks gets its thought
    closed at once instead).

    Raises:
        Nothing.
    """
    if not request.thinking or request.thinking_budget is None:
        return request
    family = thinking_family(backend.name, request.model)
    if family == "none":
        return request.model_copy(update={"thinking": None, "thinking_budget": None})
    if family == "never" or (request.thinking_budget == 0 and family != "always"):
        return request.model_copy(update={"thinking": False, "thinking_budget": None})
    return None


def native_budget(backend: Backend, request: GenerateRequest) -> int | None:
    """The budget ``backend``'s engine enforces for ``request`` itself, or None.

    Raises:
        Nothing.
    """
    if isinstance(backend, NativeThinkingBudget):
        return backend.native_budget(request)
    return None


def run_with_budget(backend: Backend, request: GenerateRequest) -> Iterator[Chunk]:
    """Chunks of ``request`` on ``backend`` with its thinking budget enforced.

    Raises:
        RouterError: whatever the backend raises.
    """
    plain = delegated_request(backend, request)
    if plain is not None:
        return backend.stream(plain)
    return BudgetController(backend, request).stream()


def arun_with_budget(
    backend: Backend, request: GenerateRequest
) -> AsyncIterator[Chunk]:
    """Async twin of :func:`run_with_budget`.

    Raises:
        RouterError: whatever the backend raises.
    """
    plain = delegated_request(backend, request)
    if plain is not None:
        return backend.astream(plain)
    return BudgetController(backend, request).astream()


def generate_with_budget(backend: Backend, request: GenerateRequest) -> GenerateResult:
    """The non-streaming path: the final result of :func:`run_with_budget`.

    Raises:
        RouterError: whatever the backend raises.
    """
    plain = delegated_request(backend, request)
    if plain is not None:
        return backend.generate(plain)
    return _final(BudgetController(backend, request).stream())


async def agenerate_with_budget(
    backend: Backend, request: GenerateRequest
) -> GenerateResult:
    """Async twin of :func:`generate_with_budget`.

    Raises:
        RouterError: whatever the backend raises.
    """
    plain = delegated_request(backend, request)
    if plain is not None:
        return await backend.agenerate(plain)
    result: GenerateResult | None = None
    async for chunk in BudgetController(backend, request).astream():
        result = chunk.result if chunk.done else result
    assert result is not None
    return result


def _final(chunks: Iterator[Chunk]) -> GenerateResult:
    result: GenerateResult | None = None
    for chunk in chunks:
        result = chunk.result if chunk.done else result
    assert result is not None
    return result


@dataclass
class PassRecord:
    """What one pass continued from and produced (for traces and tests)."""

    phase: str
    prefix: str
    thinking: str
    text: str
    closed: bool
    result: GenerateResult


class BudgetController:
    """One budgeted generation; ``passes`` and :attr:`transcript` show what ran."""

    def __init__(self, backend: Backend, request: GenerateRequest) -> None:
        if not request.thinking or request.thinking_budget is None:
            raise ValueError("BudgetController needs thinking on and a thinking_budget")
        self.backend = backend
        self.request = request
        self.continuer = Continuer(backend, request)
        self.passes: list[PassRecord] = []
        self.plan: BudgetPlan | None = None

    @property
    def transcript(self) -> str:
        """The assistant text of the last pass: prefix + what the model generated."""
        if not self.passes:
            return ""
        last = self.passes[-1]
        close = f"{THINK_CLOSE}\n\n" if last.phase == "think" and last.closed else ""
        return last.prefix + last.thinking + close + last.text

    def _plan(self, load_ms: float) -> BudgetPlan:
        self.plan = BudgetPlan(
            request=self.request,
            budget=int(self.request.thinking_budget or 0),
            kind=self.continuer.kind,
            opened_by_template=self.continuer.opened_by_template(),
            load_ms=load_ms,
        )
        return self.plan

    def _record(self, step: Step, chunks: list[Chunk], result: GenerateResult) -> None:
        self.passes.append(
            PassRecord(
                phase=step.phase,
                prefix=step.prefix,
                thinking="".join(c.thinking for c in chunks),
                text="".join(c.text for c in chunks),
                closed=result.thinking_closed,
                result=result,
            )
        )

    def stream(self) -> Iterator[Chunk]:
        """Run the passes; yield the Chunk protocol (deltas, then one done chunk).

        Raises:
            RouterError: whatever the backend raises.
        """
        prepare = getattr(self.backend, "prepare", None)  # BaseBackend's load hook
        load_ms = float(prepare(self.request)) if prepare else 0.0
        if native_budget(self.backend, self.request) is not None:
            yield from self.backend.stream(self.request)
            return
        plan = self._plan(load_ms)
        step, ready = plan.first()
        yield from ready
        while step is not None:
            seen: list[Chunk] = []
            result: GenerateResult | None = None
            try:
                for chunk in self.continuer.stream(
                    step.prefix,
                    step.params,
                    in_thinking=step.in_thinking,
                    chat_thinking=step.chat_thinking,
                ):
                    seen.append(chunk)
                    if (out := plan.feed(chunk)) is not None:
                        yield out
                    result = chunk.result if chunk.done else result
            except ContinuationUnsupported:
                step = self._restart(plan, seen)
                continue
            assert result is not None, "a backend stream must end with a done chunk"
            self._record(step, seen, result)
            step, ready = plan.end_pass(result)
            yield from ready
        yield plan.done()

    def _restart(self, plan: BudgetPlan, seen: list[Chunk]) -> Step:
        """The backend answered a continuation with a fresh reply: nothing of it was
        emitted (the echo check fails first); go on without continuation."""
        assert not seen, "a continuation must be refused before any output"
        self.continuer.restart()
        return plan.restart()

    async def astream(self) -> AsyncIterator[Chunk]:
        """Async twin of :meth:`stream`.

        Raises:
            RouterError: whatever the backend raises.
        """
        load_ms = await _aprepare(self.backend, self.request)
        if native_budget(self.backend, self.request) is not None:
            async for chunk in self.backend.astream(self.request):
                yield chunk
            return
        plan = self._plan(load_ms)
        step, ready = plan.first()
        for chunk in ready:
            yield chunk
        while step is not None:
            seen: list[Chunk] = []
            result: GenerateResult | None = None
            try:
                async for chunk in self.continuer.astream(
                    step.prefix,
                    step.params,
                    in_thinking=step.in_thinking,
                    chat_thinking=step.chat_thinking,
                ):
                    seen.append(chunk)
                    if (out := plan.feed(chunk)) is not None:
                        yield out
                    result = chunk.result if chunk.done else result
            except ContinuationUnsupported:
                step = self._restart(plan, seen)
                continue
            assert result is not None, "a backend stream must end with a done chunk"
            self._record(step, seen, result)
            step, ready = plan.end_pass(result)
            for chunk in ready:
                yield chunk
        yield plan.done()


async def _aprepare(backend: Backend, request: GenerateRequest) -> float:
    """BaseBackend's async load hook (no thread for backends that load nothing);
    a backend that only has the sync hook runs it in a worker thread."""
    aprepare = getattr(backend, "aprepare", None)
    if aprepare is not None:
        return float(await aprepare(request))
    prepare = getattr(backend, "prepare", None)
    return float(await asyncio.to_thread(prepare, request)) if prepare else 0.0

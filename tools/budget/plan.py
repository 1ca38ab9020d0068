"""The two-pass budget method as a pure state machine; the drivers only do the I/O.

Pass 1 continues ``<think>\\n`` with ``max_tokens = min(budget, max_tokens)``. When the
thought closed by itself, the turn is done (or, cut by the pass's cap, continued from
prompt + thought + ``</think>`` + answer so far). When it did not close, Qwen's
early-stop sentence and ``</think>`` are appended and pass 2 generates the answer.

Token accounting: ``thinking_tokens`` counts generated thought tokens only (never
more than the budget); the early-stop sentence is inserted text, not generated.
``completion_tokens`` sums the passes; ``prompt_tokens`` is the first pass's prompt.
The answer always gets at least a quarter of ``max_tokens`` (when one is set).

``kind`` is how the backend continues: ``raw`` (the ``continuation`` method) or
``chat`` (the ``restart`` method: pass 1 is a chat call capped at the budget and, when
the thought did not close, the answer is asked for again without thinking). A
continuation refused mid-way (:meth:`BudgetPlan.restart`) switches to ``chat``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from qwen_router.backends.base import Chunk, GenerateRequest, GenerateResult
from qwen_router.thinking import EARLY_STOP_SENTENCE, THINK_CLOSE, THINK_OPEN
from qwen_router.types import GenerationParams, Usage

from .continuation import ContinuationKind

__all__ = ["BudgetPlan", "Step"]

FORCED_CLOSE = f"\n\n{EARLY_STOP_SENTENCE}\n{THINK_CLOSE}\n\n"  # budget hit
ENDED_CLOSE = f"\n{THINK_CLOSE}\n\n"  # the model stopped inside its thought
NATURAL_CLOSE = (
    f"{THINK_CLOSE}\n\n"  # the model closed it; its newline is in the thought
)


@dataclass(frozen=True)
class Step:
    """One pass: continue ``prefix`` with ``params``."""

    phase: Literal["think", "answer"]
    prefix: str
    params: GenerationParams
    in_thinking: bool
    chat_thinking: bool  # for ``chat`` continuations: the thinking flag of the call


@dataclass
class BudgetPlan:
    """State of one budgeted generation. ``kind`` is how the backend continues."""

    request: GenerateRequest
    budget: int
    kind: ContinuationKind
    opened_by_template: bool = False
    load_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0
    closed: bool = False
    budget_hit: bool = False
    finish_reason: str | None = None
    prefix: str = ""
    thought: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    model: str = ""
    backend: str = ""
    _held: list[str] = field(
        default_factory=list
    )  # a chat pass-1 answer, until it is kept
    _phase: Literal["think", "answer"] = "think"
    _cap: int = 0
    _start: float = field(default_factory=time.perf_counter)
    _first: float | None = None
    _thought_end: float | None = None

    @property
    def max_tokens(self) -> int | None:
        return self.request.params.max_tokens

    @property
    def method(self) -> Literal["continuation", "restart"]:
        return "continuation" if self.kind == "raw" else "restart"

    def restart(self) -> Step:
        """The backend refused to continue (before any output): go on with chat calls.

        An answer pass restarts as a chat call without thinking; the thought kept so
        far (capped at the budget) stays, and so does whether the cap was hit.
        """
        self.kind = "chat"
        if self._phase == "answer":
            return self._answer_step(chat_thinking=False)
        self.prefix = ""
        step, _ = self.first()
        return step

    def first(self) -> tuple[Step, list[Chunk]]:
        """The first pass, and chunks to emit before it (a thought closed at once)."""
        opens = self.kind == "raw" and not self.opened_by_template
        self.prefix = f"{THINK_OPEN}\n" if opens else ""
        if self.budget <= 0 and self.kind != "chat":
            return self._force_close(hit=True)
        self._cap = max(1, min(self.budget, self.max_tokens or self.budget))
        params = self.request.params.model_copy(update={"max_tokens": self._cap})
        return Step(
            "think", self.prefix, params, in_thinking=True, chat_thinking=True
        ), []

    def feed(self, chunk: Chunk) -> Chunk | None:
        """Account for one chunk of the current pass; return what to emit now."""
        if self._phase == "answer":
            text = chunk.thinking + chunk.text  # after the close everything is answer
            self.answer.append(text)
            return self._out(text=text)
        if chunk.thinking:
            self.thought.append(chunk.thinking)
        if chunk.text and self.kind == "chat":
            self._held.append(chunk.text)
            return self._out(thinking=chunk.thinking)
        if chunk.text:
            self.answer.append(chunk.text)
        return self._out(thinking=chunk.thinking, text=chunk.text)

    def end_pass(self, result: GenerateResult) -> tuple[Step | None, list[Chunk]]:
        """Account for a finished pass; return the next pass (``None``: done)."""
        if not self.model:
            self.model, self.backend = result.model, result.backend
            self.prompt_tokens = result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens
        self.finish_reason = result.finish_reason
        if self._phase == "answer":
            return None, []
        if self.kind == "chat":
            return self._after_chat_thought(result)
        if result.thinking_closed:
            self.thinking_tokens += result.usage.thinking_tokens
            self.closed = True
            return self._after_natural_close(result)
        # Every generated token of an unclosed pass 1 was thought (Ollama: eval_count).
        self.thinking_tokens += (
            result.usage.completion_tokens or result.usage.thinking_tokens
        )
        return self._force_close(hit=result.finish_reason == "length")

    def _after_chat_thought(
        self, result: GenerateResult
    ) -> tuple[Step | None, list[Chunk]]:
        """A chat pass 1: keep it when it finished its thought (or never opened one)."""
        self.thinking_tokens += result.usage.thinking_tokens
        if result.thinking is None:  # the model answered without thinking
            self._mark_thought_end()
            return None, self._release_held()
        if result.thinking_closed:
            self.closed = True
            return self._after_natural_close(result)
        return self._chat_retry()

    def _after_natural_close(
        self, result: GenerateResult
    ) -> tuple[Step | None, list[Chunk]]:
        self._mark_thought_end()
        cut = result.finish_reason == "length" and self._cap < (
            self.max_tokens or 1 << 62
        )
        if not cut:
            return None, self._release_held()
        if self.kind == "chat":
            return self._chat_retry()
        self.prefix += "".join(self.thought) + NATURAL_CLOSE + "".join(self.answer)
        return self._answer_step(), []

    def _force_close(self, *, hit: bool) -> tuple[Step, list[Chunk]]:
        self.closed = True
        self.budget_hit = hit
        closing = FORCED_CLOSE if hit else ENDED_CLOSE
        self.prefix += "".join(self.thought) + closing
        sentence = FORCED_CLOSE.split(THINK_CLOSE)[0] if hit else ""
        self.thought.append(sentence)
        self._mark_thought_end()
        chunk = self._out(thinking=sentence) if sentence else None
        return self._answer_step(), [chunk] if chunk else []

    def _chat_retry(self) -> tuple[Step, list[Chunk]]:
        """No continuation: drop the cut thought, answer in non-thinking mode."""
        self._held.clear()
        self.budget_hit = True
        self.closed = True
        self._mark_thought_end()
        return self._answer_step(chat_thinking=False), []

    def _answer_step(self, *, chat_thinking: bool = False) -> Step:
        self._phase = "answer"
        params = self.request.params
        if self.max_tokens is not None:
            left = max(
                self.max_tokens - self.completion_tokens, self.max_tokens // 4, 1
            )
            params = params.model_copy(update={"max_tokens": left})
        return Step(
            "answer",
            self.prefix,
            params,
            in_thinking=False,
            chat_thinking=chat_thinking,
        )

    def _release_held(self) -> list[Chunk]:
        if not self._held:
            return []
        text, self._held = "".join(self._held), []
        self.answer.append(text)
        chunk = self._out(text=text)
        return [chunk] if chunk else []

    def _mark_thought_end(self) -> None:
        if self._thought_end is None:
            self._thought_end = time.perf_counter()

    def _out(self, *, thinking: str = "", text: str = "") -> Chunk | None:
        if not (thinking or text):
            return None
        now = time.perf_counter()
        if self._first is None:
            self._first = now
        if text and text.strip() and self._thought_end is None:
            self._thought_end = now
        return Chunk(thinking=thinking, text=text)

    def result(self) -> GenerateResult:
        """The combined result of every pass."""
        now = time.perf_counter()
        thinking = "".join(self.thought).strip("\n")
        return GenerateResult(
            text="".join(self.answer).strip(),
            thinking=thinking,
            usage=Usage(
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                thinking_tokens=self.thinking_tokens,
            ),
            finish_reason=self.finish_reason or "stop",
            model=self.model or self.request.model,
            backend=self.backend,
            thinking_closed=self.closed,
            budget_hit=self.budget_hit,
            thinking_method=self.method,
            load_ms=self.load_ms,
            first_token_ms=(self._first - self._start) * 1000 if self._first else None,
            generate_ms=(now - self._start) * 1000,
            thinking_ms=((self._thought_end or now) - self._start) * 1000,
        )

    def done(self) -> Chunk:
        """The final chunk."""
        return Chunk(done=True, result=self.result())

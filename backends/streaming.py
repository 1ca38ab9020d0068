"""The one stream-collection mechanism: raw deltas in, chunks out, one result at the end.

Every backend's stream goes through :func:`collect_stream` / :func:`acollect_stream`
(thinking split from the answer, tokens counted, timings taken), and every caller that
needs only the final result uses :func:`final_result` / :func:`afinal_result`.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)

from qwen_router.thinking import ThinkSplitter
from qwen_router.types import ToolCall, ToolSpec, Usage

from .tool_calls import ToolCallStream
from .types import Chunk, GenerateResult, RawDelta

__all__ = [
    "ResultHook",
    "StreamAccumulator",
    "acollect_stream",
    "afinal_result",
    "collect_stream",
    "final_result",
]

ResultHook = Callable[[GenerateResult], GenerateResult]
"""Adjusts the final result, e.g. with a server's own load and generation times."""


class StreamAccumulator:
    """Turns raw deltas into chunks and, at the end, one :class:`GenerateResult`."""

    def __init__(
        self,
        backend: str,
        model: str,
        *,
        in_thinking: bool = False,
        load_ms: float = 0.0,
        tools: Sequence[ToolSpec] | None = None,
    ) -> None:
        self.splitter = ThinkSplitter(in_thinking=in_thinking)
        # tools given: the answer text is parsed for tool calls (in-process models)
        self.tool_stream = ToolCallStream(tools) if tools else None
        self.tool_calls: list[ToolCall] = []
        self.backend, self.model = backend, model
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.thinking_tokens = 0
        self.completion_tokens = 0
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.load_ms = load_ms
        self.start = time.perf_counter()
        self.first_token: float | None = None
        self.thinking_end: float | None = None

    def add(self, delta: RawDelta) -> Chunk | None:
        was_thinking = self.splitter.in_thinking or bool(delta.thinking)
        thinking, text = self.splitter.feed(delta.text) if delta.text else ("", "")
        thinking = delta.thinking + thinking
        self.completion_tokens += delta.tokens
        if was_thinking and delta.tokens:
            self.thinking_tokens += delta.tokens
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.finish_reason:
            self.finish_reason = delta.finish_reason
        return self._emit(thinking, text, list(delta.tool_calls))

    def _emit(
        self, thinking: str, text: str, calls: list[ToolCall] | None = None
    ) -> Chunk | None:
        calls = calls or []
        if self.tool_stream is not None and text:
            text, parsed = self.tool_stream.feed(text)
            calls += parsed
        self.tool_calls += calls
        now = time.perf_counter()
        if (thinking or text) and self.first_token is None:
            self.first_token = now
        if text and self.thinking_end is None and self.thinking:
            self.thinking_end = now
        if thinking:
            self.thinking.append(thinking)
        if text:
            self.text.append(text)
        if not (thinking or text or calls):
            return None
        # plain construction: pydantic 2.14 validates these ready fields faster than
        # model_construct builds them (and far faster when a default factory is left out)
        return Chunk(
            text=text, thinking=thinking, tool_calls=calls, done=False, result=None
        )

    def _flush(self) -> Chunk | None:
        thinking, text = self.splitter.flush()
        tail = self._emit(thinking, text)
        if self.tool_stream is None:
            return tail
        rest, calls = self.tool_stream.finish()
        self.text.append(rest)
        self.tool_calls += calls
        if tail is None and not (rest or calls):
            return None
        return Chunk(
            text=(tail.text if tail else "") + rest,
            thinking=tail.thinking if tail else "",
            tool_calls=[*(tail.tool_calls if tail else []), *calls],
            done=False,
            result=None,
        )

    def finish(self) -> Chunk:
        tail = self._flush()
        now = time.perf_counter()
        thinking = "".join(self.thinking)
        usage = self.usage or Usage(completion_tokens=self.completion_tokens)
        if not usage.thinking_tokens and self.thinking_tokens:
            usage = usage.model_copy(update={"thinking_tokens": self.thinking_tokens})
        opened = self.splitter.opened or bool(thinking)
        text = "".join(self.text)
        finish = self.finish_reason or "stop"
        if self.tool_calls and finish == "stop":
            finish = "tool_calls"
        result = GenerateResult(
            text=text.strip() if opened or self.tool_calls else text,
            thinking=thinking.strip("\n") if opened else None,
            usage=usage,
            finish_reason=finish,
            tool_calls=self.tool_calls,
            invalid_tool_calls=self.tool_stream.invalid if self.tool_stream else [],
            model=self.model,
            backend=self.backend,
            thinking_closed=self.splitter.closed,
            load_ms=self.load_ms,
            first_token_ms=(self.first_token - self.start) * 1000 if self.first_token else None,
            generate_ms=(now - self.start) * 1000,
            thinking_ms=((self.thinking_end or now) - self.start) * 1000 if opened else 0.0,
        )
        return Chunk(
            text=tail.text if tail else "",
            thinking=tail.thinking if tail else "",
            tool_calls=tail.tool_calls if tail else [],
            done=True,
            result=result,
        )


def _final(acc: StreamAccumulator, on_result: ResultHook | None) -> Chunk:
    final = acc.finish()
    if on_result is not None and final.result is not None:
        final.result = on_result(final.result)
    return final


def collect_stream(
    backend: str,
    model: str,
    deltas: Iterable[RawDelta],
    *,
    in_thinking: bool = False,
    load_ms: float = 0.0,
    on_result: ResultHook | None = None,
    tools: Sequence[ToolSpec] | None = None,
) -> Iterator[Chunk]:
    """Chunks from ``deltas``, ending with a ``done`` chunk that holds the result.

    ``in_thinking``: the prompt already opened ``<think>``. ``on_result`` adjusts the
    final result (a server's own timings). ``tools``: the request offered these, and
    the text is the model's own, so tool calls are parsed out of it (in-process
    models; servers send their calls parsed, in ``RawDelta.tool_calls``).

    Raises:
        RouterError: whatever ``deltas`` raises.
    """
    acc = StreamAccumulator(
        backend, model, in_thinking=in_thinking, load_ms=load_ms, tools=tools
    )
    for delta in deltas:
        if (chunk := acc.add(delta)) is not None:
            yield chunk
    yield _final(acc, on_result)


async def acollect_stream(
    backend: str,
    model: str,
    deltas: AsyncIterable[RawDelta],
    *,
    in_thinking: bool = False,
    load_ms: float = 0.0,
    on_result: ResultHook | None = None,
    tools: Sequence[ToolSpec] | None = None,
) -> AsyncIterator[Chunk]:
    """Async twin of :func:`collect_stream`.

    Raises:
        RouterError: whatever ``deltas`` raises.
    """
    acc = StreamAccumulator(
        backend, model, in_thinking=in_thinking, load_ms=load_ms, tools=tools
    )
    async for delta in deltas:
        if (chunk := acc.add(delta)) is not None:
            yield chunk
    yield _final(acc, on_result)


def final_result(chunks: Iterable[Chunk]) -> GenerateResult:
    """The result on the ``done`` chunk, consuming ``chunks``.

    Raises:
        RuntimeError: the stream ended without a done chunk (a backend bug).
    """
    result: GenerateResult | None = None
    for chunk in chunks:
        if chunk.done:
            result = chunk.result
    if result is None:
        raise RuntimeError("a backend stream must end with a done chunk")
    return result


async def afinal_result(chunks: AsyncIterable[Chunk]) -> GenerateResult:
    """Async twin of :func:`final_result`.

    Raises:
        RuntimeError: the stream ended without a done chunk (a backend bug).
    """
    result: GenerateResult | None = None
    async for chunk in chunks:
        if chunk.done:
            result = chunk.result
    if result is None:
        raise RuntimeError("a backend stream must end with a done chunk")
    return result

"""Checking that a server really continued a message.

A continuation request for an engine of unknown kind carries ``echo: true`` (vLLM's
chat API: the reply starts with the final message it continued). A server that
ignores ``continue_final_message`` (llama-cpp-python's) answers with a fresh reply
that does not start with that text. :func:`strip_echo` compares the two, ignoring
whitespace and think tags (a reasoning parser moves them), drops the echoed part and
passes the rest; a reply that does not echo raises
:class:`~qwen_router.errors.ContinuationUnsupported` before anything is yielded.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

from qwen_router.errors import ContinuationUnsupported

from ..types import RawDelta

__all__ = ["EchoCheck", "astrip_echo", "strip_echo"]

_NOISE = re.compile(r"\s+|</?think>")
_LEAD = re.compile(r"^(?:\s+|</?think>)+")
_TRAIL = re.compile(r"(?:\s+|</?think>)+$")


def _norm(text: str) -> str:
    return _NOISE.sub("", text)


class EchoCheck:
    """Incremental check of one reply against the continued ``prefix``."""

    def __init__(self, prefix: str, *, where: str) -> None:
        self.want = _norm(prefix)
        self.where = where
        self.buffer = ""
        self.passed = not self.want
        # the prefix's trailing tags / whitespace, still to drop once the echo passed
        self.trailing = bool(self.want) and bool(_TRAIL.search(prefix))

    def feed(self, delta: RawDelta) -> RawDelta | None:
        """The delta to pass on (``None``: still checking or all echo).

        Raises:
            ContinuationUnsupported: the reply does not start with the prefix.
        """
        if self.passed:
            return self._drop_trailing(delta)
        self.buffer += delta.thinking + delta.text
        seen = _norm(self.buffer)
        if not self.want.startswith(seen[: len(self.want)]):
            self._fail()
        if len(seen) < len(self.want):
            return None
        self.passed = True
        rest = _after(self.buffer, len(self.want))
        return self._drop_trailing(
            delta.model_copy(update={"text": rest, "thinking": ""})
        )

    def _drop_trailing(self, delta: RawDelta) -> RawDelta | None:
        if not self.trailing:
            return delta
        text = _LEAD.sub("", delta.text)
        if text:
            self.trailing = False
        elif not (delta.usage or delta.finish_reason or delta.thinking):
            return None
        return delta.model_copy(update={"text": text})

    def finish(self) -> list[RawDelta]:
        """What to pass on when the stream ended while still checking.

        Raises:
            ContinuationUnsupported: the reply ended before echoing the prefix.
        """
        if not self.passed:
            self._fail()
        return []

    def _fail(self) -> None:
        raise ContinuationUnsupported(
            f"{self.where} answered a continuation with a fresh reply "
            "(it ignores continue_final_message)",
            hint="declare backends.openai.engine (llamacpp: restart; vllm: native)",
        )


def _after(text: str, kept: int) -> str:
    """``text`` after its first ``kept`` non-noise characters."""
    count = 0
    i = 0
    while i < len(text) and count < kept:
        match = _NOISE.match(text, i)
        if match and match.end() > i:
            i = match.end()
            continue
        count += 1
        i += 1
    return text[i:]


def strip_echo(
    deltas: Iterator[RawDelta], prefix: str, *, where: str
) -> Iterator[RawDelta]:
    """``deltas`` without the echoed ``prefix``.

    Raises:
        ContinuationUnsupported: the server did not continue.
    """
    check = EchoCheck(prefix, where=where)
    for delta in deltas:
        out = check.feed(delta)
        if out is not None:
            yield out
    yield from check.finish()


async def astrip_echo(
    deltas: AsyncIterator[RawDelta], prefix: str, *, where: str
) -> AsyncIterator[RawDelta]:
    """Async twin of :func:`strip_echo`.

    Raises:
        ContinuationUnsupported: the server did not continue.
    """
    check = EchoCheck(prefix, where=where)
    async for delta in deltas:
        out = check.feed(delta)
        if out is not None:
            yield out
    for delta in check.finish():
        yield delta

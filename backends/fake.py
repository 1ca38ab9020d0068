"""``FakeBackend``: a scripted, deterministic backend. Not a model.

It exists for two jobs only: measuring the framework's own overhead (a backend that
answers instantly, so what remains is the router's and the server's cost), and
fault-injection / control-flow tests (a backend that fails on cue, answers slowly,
or says something wrong first). It is never a default for users and never replaces a
test on a real model.

Profile use::

    backends:
      fake: {reply: "Hello there.", token_delay_s: 0.0, fail_on: "FAIL"}
    routes:
      general: {model: "fake:scripted"}
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Literal

from qwen_router.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ModelNotFound,
)
from qwen_router.types import Usage

from .base import BaseBackend, Capabilities, GenerateRequest, RawDelta

__all__ = ["FakeBackend", "FailureKind"]

FailureKind = Literal["unavailable", "timeout", "not_found", "response"]
ReplyFn = Callable[[GenerateRequest], str]

_TOKEN = re.compile(r"\s*\S+|\s+")
_ERRORS: dict[str, type[BackendError]] = {
    "unavailable": BackendUnavailable,
    "timeout": BackendTimeout,
    "not_found": ModelNotFound,
    "response": BackendResponseError,
}


class FakeBackend(BaseBackend):
    """A scripted backend for overhead measurement and fault injection (not a model).

    Args:
        reply: the answer text, or a function of the request that returns it. ``None``
            echoes the last user message, prefixed with the model name.
        thinking: text emitted inside ``<think>...</think>`` when the request asks
            for thinking (``request.thinking`` true).
        token_delay_s: sleep before each token (whitespace-separated piece).
        fail_on: when this text occurs in the last user message, fail.
        fail_with: which ``BackendError`` to raise on cue.
        fail_after_tokens: on cue, stream this many tokens first, then fail.
        models: when given, any other model name raises ``ModelNotFound``.

    ``requests`` records every request received (for tests); ``calls`` counts them.

    Raises:
        ValueError: an unknown ``fail_with``.
    """

    name = "fake"
    capabilities = Capabilities(vision=True, thinking=True, streaming=True)

    def __init__(
        self,
        *,
        reply: str | ReplyFn | None = None,
        thinking: str = "Let me think about it.",
        token_delay_s: float = 0.0,
        fail_on: str | None = None,
        fail_with: FailureKind = "unavailable",
        fail_after_tokens: int = 0,
        models: list[str] | None = None,
        record: bool = True,
    ) -> None:
        if fail_with not in _ERRORS:
            raise ValueError(f"fail_with must be one of {', '.join(_ERRORS)}")
        self.reply = reply
        self.thinking = thinking
        self.token_delay_s = token_delay_s
        self.fail_on = fail_on
        self.fail_with = fail_with
        self.fail_after_tokens = fail_after_tokens
        self.models = set(models) if models is not None else None
        self.record = record
        self.requests: list[GenerateRequest] = []
        self.calls = 0
        self._lock = threading.Lock()

    # --- script -------------------------------------------------------------------
    def _answer(self, request: GenerateRequest) -> str:
        if callable(self.reply):
            return self.reply(request)
        if self.reply is not None:
            return self.reply
        last = next(
            (m.text for m in reversed(request.messages) if m.role == "user"), ""
        )
        return f"[{request.model}] {last[:200]}".strip()

    def _script(
        self, request: GenerateRequest
    ) -> tuple[list[str], BackendError | None, str]:
        """The pieces to stream and the error to raise after them (if on cue)."""
        with self._lock:
            self.calls += 1
            if self.record:
                self.requests.append(request)
        if self.models is not None and request.model not in self.models:
            raise ModelNotFound(
                f"model {request.model!r} not found",
                backend=self.name,
                model=request.model,
            )
        pieces: list[str] = []
        if request.thinking and self.thinking:
            pieces += ["<think>", *_TOKEN.findall(self.thinking), "</think>\n\n"]
        pieces += _TOKEN.findall(self._answer(request))
        last = next(
            (m.text for m in reversed(request.messages) if m.role == "user"), ""
        )
        if self.fail_on is not None and self.fail_on in last:
            error = _ERRORS[self.fail_with](
                f"scripted failure ({self.fail_with})",
                backend=self.name,
                model=request.model,
            )
            return pieces[: self.fail_after_tokens], error, "stop"
        limit = request.params.max_tokens
        if limit is not None and len(pieces) > limit:
            return pieces[:limit], None, "length"
        return pieces, None, "stop"

    @staticmethod
    def _deltas(
        request: GenerateRequest, pieces: list[str], finish: str
    ) -> Iterator[RawDelta]:
        prompt = sum(len(m.text.split()) for m in request.messages)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            yield RawDelta(
                text=piece,
                tokens=1,
                usage=Usage(prompt_tokens=prompt, completion_tokens=len(pieces))
                if last
                else None,
                finish_reason=finish if last else None,
            )

    # --- BaseBackend --------------------------------------------------------------
    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        pieces, error, finish = self._script(request)
        for delta in self._deltas(request, pieces, finish):
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            yield delta
        if error is not None:
            raise error

    async def _araw_stream(self, request: GenerateRequest) -> AsyncIterator[RawDelta]:
        pieces, error, finish = self._script(request)
        for delta in self._deltas(request, pieces, finish):
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield delta
        if error is not None:
            raise error

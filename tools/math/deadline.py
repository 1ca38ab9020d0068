"""Soft deadlines for sympy work inside the worker's main thread (SIGALRM, nestable)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["StepTimeout", "deadline", "within"]


class StepTimeout(BaseException):
    """A soft deadline passed (BaseException so library ``except Exception`` can't eat it)."""


_deadlines: list[float] = []


def _on_alarm(signum: int, frame: Any) -> None:
    raise StepTimeout()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`StepTimeout` in this (main) thread after ``seconds``; nests."""
    at = time.monotonic() + max(0.01, seconds)
    if _deadlines:
        at = min(at, _deadlines[-1])
    _deadlines.append(at)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, at - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _deadlines.pop()
        if _deadlines:
            left = _deadlines[-1] - time.monotonic()
            if left <= 0:
                raise StepTimeout()
            signal.setitimer(signal.ITIMER_REAL, left)


def within(seconds: float, fn: Any, *args: Any) -> tuple[bool, Any]:
    """``(True, fn(*args))``, or ``(False, None)`` when this step's own limit passes first."""
    try:
        with deadline(seconds):
            return True, fn(*args)
    except StepTimeout:
        if _deadlines and time.monotonic() >= _deadlines[-1]:
            raise
        return False, None

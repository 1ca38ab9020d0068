"""What finalizers report: an unclosed socket or transport found by the garbage
collector warns from ``__del__``, which no ``pytest.warns`` or ``simplefilter`` sees
(the warning goes to ``sys.unraisablehook``)."""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def finalizer_reports() -> Iterator[list[str]]:
    """The ``ResourceWarning``s (and other errors) that finalizers raise inside the
    block, as text, collected when it ends. Garbage from before the block is
    collected first, so that an earlier test's leak is not counted here."""
    gc.collect()
    reports: list[str] = []

    def hook(unraisable: Any) -> None:
        reports.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    previous = sys.unraisablehook
    sys.unraisablehook = hook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)  # raised in __del__
            yield reports
            gc.collect()
    finally:
        sys.unraisablehook = previous

"""The one mechanism every backend uses to translate a client library's exceptions.

Each backend keeps its own ordered table (most specific class first) of
``(exception class, mapper)`` rows; :func:`lookup` picks the row and
:func:`translating` re-raises at the backend's boundary, ``from`` the original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from qwen_router.errors import RouterError

__all__ = ["lookup", "translating"]

M = TypeVar("M")


def lookup(table: Sequence[tuple[type[BaseException], M]], exc: BaseException) -> M:
    """The mapper of the first row whose class ``exc`` is an instance of.

    Raises:
        TypeError: no row matches (the table is incomplete).
    """
    for cls, mapper in table:
        if isinstance(exc, cls):
            return mapper
    raise TypeError(f"no mapping for {type(exc).__name__}")


@contextmanager
def translating(
    catch: tuple[type[BaseException], ...], translate: Callable[[BaseException], Any]
) -> Iterator[None]:
    """Re-raise ``catch`` exceptions as ``translate(exc)``; RouterErrors pass through.

    Raises:
        RouterError: what ``translate`` returns for the caught exception.
    """
    try:
        yield
    except RouterError:
        raise
    except catch as exc:
        raise translate(exc) from exc

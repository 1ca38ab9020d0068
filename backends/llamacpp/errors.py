"""Translating llama-cpp-python's exceptions into RouterErrors, once, at the boundary.

llama-cpp-python raises builtin exceptions: ``ValueError`` (a file that does not
load, a prompt longer than the context window, bad arguments), ``RuntimeError``
(tokenize / decode failures), ``MemoryError``, ``ImportError`` (optional parts),
``OSError`` / ``FileNotFoundError``, ``KeyError``, and a bare ``Exception`` from
its grammar parser; it also defines one exception class of its own.
:data:`ERROR_TABLE` is ordered most specific first; the
completeness test checks that every exception class the installed package raises
is covered by it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from qwen_router.errors import (
    BackendResponseError,
    BackendUnavailable,
    ModelNotFound,
    RouterError,
)

from ..errors_map import lookup, translating

__all__ = ["DEFINED_ERRORS", "ERROR_TABLE", "map_errors", "translate"]

_NAME = "llamacpp"

Mapper = Callable[[BaseException, str, bool], RouterError]


def _message(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _not_loadable(exc: BaseException, model: str, loading: bool) -> RouterError:
    return ModelNotFound(
        f"cannot load GGUF {model!r}: {_message(exc)}",
        hint="check that it is a complete GGUF of an architecture llama.cpp supports",
        backend=_NAME,
        model=model,
    )


def _bad_request(exc: BaseException, model: str, loading: bool) -> RouterError:
    if loading:
        return _not_loadable(exc, model, loading)
    hint = (
        "shorten the prompt or raise backends.llamacpp.n_ctx"
        if "context" in str(exc)
        else None
    )
    return BackendResponseError(
        f"llama.cpp rejected the request: {_message(exc)}",
        status_code=400,
        hint=hint,
        backend=_NAME,
        model=model,
    )


def _failed(exc: BaseException, model: str, loading: bool) -> RouterError:
    if loading:
        return _not_loadable(exc, model, loading)
    return BackendResponseError(
        f"llama.cpp failed: {_message(exc)}",
        status_code=500,
        backend=_NAME,
        model=model,
    )


def _out_of_memory(exc: BaseException, model: str, loading: bool) -> RouterError:
    return BackendUnavailable(
        f"llama.cpp ran out of memory for {model!r}",
        hint="lower backends.llamacpp.n_ctx or use a smaller quantization",
        backend=_NAME,
        model=model,
    )


def _missing(exc: BaseException, model: str, loading: bool) -> RouterError:
    return BackendUnavailable(
        f"llama.cpp is missing a component: {_message(exc)}",
        hint="pip install 'qwen-router[llamacpp]'",
        backend=_NAME,
        model=model,
    )


ERROR_TABLE: tuple[tuple[type[BaseException], Mapper], ...] = (
    (FileNotFoundError, _not_loadable),
    (MemoryError, _out_of_memory),
    (NotImplementedError, _failed),
    (ValueError, _bad_request),
    (KeyError, _failed),
    (AttributeError, _failed),
    (RuntimeError, _failed),
    (ImportError, _missing),
    (OSError, _failed),
    (Exception, _failed),  # only for a bare ``raise Exception`` (grammar parsing)
)


# exception classes llama_cpp defines itself, by name (so that importing this
# module does not import llama_cpp)
DEFINED_ERRORS: dict[str, Mapper] = {
    "LlamaChatCompletionHandlerNotFoundException": _bad_request,
}


def translate(exc: BaseException, model: str, *, loading: bool = False) -> RouterError:
    """The RouterError for ``exc``, raised while loading or running ``model``."""
    if type(exc).__name__ in DEFINED_ERRORS:
        return DEFINED_ERRORS[type(exc).__name__](exc, model, loading)
    try:
        mapper = lookup(ERROR_TABLE, exc)
    except TypeError:  # anything else llama.cpp raises is a generation failure
        mapper = _failed
    return mapper(exc, model, loading)


@contextmanager
def map_errors(model: str, *, loading: bool = False) -> Iterator[None]:
    """Re-raise what llama-cpp-python raises as a RouterError (``from`` the original).

    Raises:
        RouterError: ModelNotFound, BackendResponseError or BackendUnavailable.
    """
    with translating((Exception,), lambda exc: translate(exc, model, loading=loading)):
        yield

"""Translating the ``ollama`` client's (and httpx's) exceptions into RouterErrors.

Everything the client can raise passes through :func:`map_errors` once, at the
boundary; nothing outside ``backends/`` sees an ``ollama.*`` or ``httpx.*`` exception.
The table is ordered most specific first; :data:`ERROR_TABLE` is what the completeness
test walks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import ollama
import pydantic
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ImageError,
    ModelNotFound,
    RouterError,
)

from ..errors_map import lookup, translating

__all__ = [
    "ERROR_TABLE",
    "ErrorContext",
    "ThinkingUnsupported",
    "map_errors",
    "translate",
]

_NAME = "ollama"
_THINK_RE = re.compile(r"does not support thinking")
_NOT_FOUND_RE = re.compile(r"model ['\"]?(?P<name>[^'\"]+)['\"]? not found")


class ThinkingUnsupported(BackendResponseError):
    """The model rejected ``think`` (HTTP 400); the backend retries without it."""


@dataclass
class ErrorContext:
    """What messages need: the host, the model, how far the stream got."""

    host: str
    model: str | None = None
    chunks: int = 0  # how many chunks had arrived when the error came


Mapper = Callable[[BaseException, ErrorContext], RouterError]


def _unavailable(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendUnavailable(
        f"Ollama is not reachable at {ctx.host}",
        hint="start it with `ollama serve`, or set backends.ollama.host / OLLAMA_HOST",
        backend=_NAME,
        model=ctx.model,
    )


def _lost(exc: BaseException, ctx: ErrorContext) -> RouterError:
    where = (
        f" after {ctx.chunks} chunks; the partial answer was discarded"
        if ctx.chunks
        else ""
    )
    return BackendUnavailable(
        f"connection to Ollama at {ctx.host} was lost{where}: {exc}",
        backend=_NAME,
        model=ctx.model,
    )


def _timeout(exc: BaseException, ctx: ErrorContext) -> RouterError:
    kind = type(exc).__name__
    return BackendTimeout(
        f"Ollama at {ctx.host} did not answer in time ({kind})",
        hint="raise backends.ollama.timeout, or check the server's load",
        backend=_NAME,
        model=ctx.model,
    )


def _bad_host(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return ConfigError(
        f"bad Ollama host {ctx.host!r}: {exc}", hint="e.g. http://127.0.0.1:11434"
    )


def _protocol(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendResponseError(
        f"Ollama at {ctx.host} sent a malformed response: {type(exc).__name__}: {exc}",
        status_code=502,
        backend=_NAME,
        model=ctx.model,
    )


def _http_status(exc: BaseException, ctx: ErrorContext) -> RouterError:
    assert isinstance(exc, httpx.HTTPStatusError)
    return _by_status(exc.response.text, exc.response.status_code, ctx)


def _response(exc: BaseException, ctx: ErrorContext) -> RouterError:
    assert isinstance(exc, ollama.ResponseError)
    return _by_status(str(exc.error), exc.status_code, ctx)


def _by_status(error: str, status: int, ctx: ErrorContext) -> RouterError:
    model = ctx.model
    if status == 404 and (match := _NOT_FOUND_RE.search(error)):
        name = model or match.group("name")
        return ModelNotFound(
            f"Ollama at {ctx.host} does not have model {name!r}",
            hint=f"ollama pull {name}",
            backend=_NAME,
            model=name,
        )
    if status == 400 and _THINK_RE.search(error):
        return ThinkingUnsupported(error, status_code=400, backend=_NAME, model=model)
    if status < 0:  # an {"error": ...} object inside a 200 NDJSON stream
        where = f"after {ctx.chunks} chunks" if ctx.chunks else "before any output"
        return BackendResponseError(
            f"Ollama stream for {model!r} failed {where}: {error}"
            + ("; the partial answer was discarded" if ctx.chunks else ""),
            backend=_NAME,
            model=model,
        )
    return BackendResponseError(
        f"Ollama answered {status} for {model!r}: {error}",
        status_code=status,
        backend=_NAME,
        model=model,
    )


def _request_error(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendResponseError(
        f"invalid request for Ollama: {getattr(exc, 'error', exc)}",
        status_code=400,
        backend=_NAME,
        model=ctx.model,
    )


def _bad_image(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return ImageError(f"image cannot be sent to Ollama: {exc}")


# Most specific first: the first class the exception is an instance of wins.
ERROR_TABLE: tuple[tuple[type[BaseException], Mapper], ...] = (
    (ollama.ResponseError, _response),
    (ollama.RequestError, _request_error),
    (httpx.TimeoutException, _timeout),
    (httpx.ConnectError, _unavailable),
    (httpx.UnsupportedProtocol, _bad_host),
    (httpx.InvalidURL, _bad_host),
    (httpx.ProxyError, _unavailable),
    (httpx.NetworkError, _lost),  # ReadError, WriteError, CloseError
    (httpx.RemoteProtocolError, _lost),  # the server went away mid-reply
    (httpx.ProtocolError, _protocol),
    (httpx.TransportError, _lost),
    (httpx.HTTPStatusError, _http_status),
    (
        httpx.HTTPError,
        _protocol,
    ),  # LocalProtocolError, DecodingError, TooManyRedirects, ...
    (httpx.StreamError, _protocol),
    (httpx.CookieConflict, _protocol),
    (ConnectionRefusedError, _unavailable),
    (ConnectionError, _unavailable),  # what the client raises for a refused connection
    (TimeoutError, _timeout),
    (json.JSONDecodeError, _protocol),  # a broken NDJSON line
    (
        pydantic.ValidationError,
        _protocol,
    ),  # a reply that does not fit the response model
    (ValueError, _bad_image),  # ollama.Image: not a file and not base64
)
_CAUGHT = tuple(cls for cls, _ in ERROR_TABLE)


def translate(exc: BaseException, ctx: ErrorContext) -> RouterError:
    """The RouterError for one foreign exception (the first matching table row)."""
    return lookup(ERROR_TABLE, exc)(exc, ctx)


@contextmanager
def map_errors(ctx: ErrorContext) -> Iterator[None]:
    """Re-raise anything the ollama client raises as a typed RouterError.

    Raises:
        BackendUnavailable: connection refused or lost (the host is in the message).
        BackendTimeout: connect / read / write / pool timeout.
        ModelNotFound: 404 ``model 'x' not found`` (hint: ``ollama pull x``).
        ThinkingUnsupported: 400 ``"x" does not support thinking``.
        BackendResponseError: any other error status, an ``{"error"}`` line in a
            stream, or a malformed reply.
        ConfigError: the host is not a usable URL.
        ImageError: an image the client cannot encode.
    """
    with translating(_CAUGHT, lambda exc: translate(exc, ctx)):
        yield

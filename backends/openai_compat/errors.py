"""Translating what the HTTP exchange raises into RouterErrors.

Everything :mod:`.transport` raises (its own :class:`~.transport.UpstreamStatus` and
:class:`~.transport.StreamError`, and the failures of httpx and aiohttp beneath it)
passes through :func:`map_errors` once, at the boundary of
:class:`~qwen_router.backends.openai_compat.OpenAIBackend`; nothing outside
``backends/`` sees an httpx or aiohttp exception. :data:`ERROR_TABLE` is ordered most
specific first and is what the completeness test walks: every exception class httpx
and aiohttp export falls under a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp
import httpx
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
    RouterError,
)

from ..errors_map import lookup, translating
from .transport import StreamError, UpstreamStatus
from .wire import MalformedEvent

__all__ = ["ERROR_TABLE", "ErrorContext", "map_errors", "translate"]

_NAME = "openai"
DETAIL_CHARS = 300  # of an error body that is not JSON
_AUTH_HINT = (
    "set backends.openai.api_key or OPENAI_API_KEY (vLLM: the --api-key it runs with)"
)


@dataclass
class ErrorContext:
    """What the messages need: the server, the model, how far a stream got."""

    base_url: str
    model: str | None = None
    chunks: int = 0  # chunks received when the error came


Mapper = Callable[[BaseException, ErrorContext], RouterError]


def _detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        if message:
            return str(message)
    if isinstance(body, str) and body.strip():  # a proxy's text or HTML error page
        return body.strip()[:DETAIL_CHARS]
    return str(getattr(exc, "message", None) or exc)


def _connection(exc: BaseException, ctx: ErrorContext) -> RouterError:
    if ctx.chunks:
        return BackendUnavailable(
            f"connection to {ctx.base_url} was lost after {ctx.chunks} chunks; "
            "the partial answer was discarded",
            backend=_NAME,
            model=ctx.model,
        )
    return BackendUnavailable(
        f"OpenAI-compatible server not reachable at {ctx.base_url}",
        hint="start it (e.g. `vllm serve MODEL`), or set backends.openai.base_url "
        "/ OPENAI_BASE_URL",
        backend=_NAME,
        model=ctx.model,
    )


def _timeout(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendTimeout(
        f"{ctx.base_url} did not answer in time",
        hint="raise backends.openai.timeout, or check the server's load",
        backend=_NAME,
        model=ctx.model,
    )


def _not_found(exc: BaseException, ctx: ErrorContext) -> RouterError:
    what = f"model {ctx.model!r}" if ctx.model else "this endpoint"
    return ModelNotFound(
        f"{ctx.base_url} does not serve {what}: {_detail(exc)}",
        hint=f"see GET {ctx.base_url}/models (vLLM: --served-model-name); "
        "base_url usually ends in /v1",
        backend=_NAME,
        model=ctx.model,
    )


def _status(exc: BaseException, ctx: ErrorContext) -> RouterError:
    status = getattr(exc, "status_code", None)
    hints = {401: _AUTH_HINT, 403: "the API key has no access to this model"}
    return BackendResponseError(
        f"{ctx.base_url} answered {status} for {ctx.model!r}: {_detail(exc)}",
        status_code=status,
        hint=hints.get(status) if isinstance(status, int) else None,
        backend=_NAME,
        model=ctx.model,
    )


def _malformed(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendResponseError(
        f"{ctx.base_url} sent a malformed response: {type(exc).__name__}: {exc}",
        status_code=502,
        backend=_NAME,
        model=ctx.model,
    )


def _stream_error(exc: BaseException, ctx: ErrorContext) -> RouterError:
    where = f"after {ctx.chunks} chunks" if ctx.chunks else "before any output"
    return BackendResponseError(  # no status: retryable unless output had started
        f"{ctx.base_url} reported an error for {ctx.model!r} {where}: {_detail(exc)}",
        backend=_NAME,
        model=ctx.model,
    )


def _by_status(exc: BaseException, ctx: ErrorContext) -> RouterError:
    if getattr(exc, "status_code", None) == 404:
        return _not_found(exc, ctx)
    return _status(exc, ctx)


def _client(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return ConfigError(
        f"the HTTP client for {ctx.base_url} failed: {type(exc).__name__}: {exc}",
        hint="check backends.openai.base_url (scheme, host, port)",
    )


# Most specific first: the first class the exception is an instance of wins.
ERROR_TABLE: tuple[tuple[type[BaseException], Mapper], ...] = (
    (UpstreamStatus, _by_status),  # 404: not served; 401 with a hint; 429, 5xx retry
    (StreamError, _stream_error),  # an {"error": ...} object inside a 200 stream
    (MalformedEvent, _malformed),  # an answer or SSE data line that is not an object
    (json.JSONDecodeError, _malformed),  # a broken answer or SSE data line
    # sync, httpx
    (httpx.TimeoutException, _timeout),  # connect, read, write or pool
    (httpx.UnsupportedProtocol, _client),  # a base URL that is not http(s)
    (httpx.TransportError, _connection),  # refused, reset, dropped mid-stream
    (httpx.DecodingError, _malformed),  # a body its encoding does not decode
    (httpx.TooManyRedirects, _malformed),
    (httpx.InvalidURL, _client),
    (httpx.HTTPError, _connection),  # any other failed exchange
    (httpx.StreamError, _client),  # a stream read twice or after close: our bug
    (httpx.CookieConflict, _client),
    # async, aiohttp
    (aiohttp.InvalidURL, _client),
    (TimeoutError, _timeout),  # aiohttp's connect and read timeouts
    (aiohttp.ClientConnectionError, _connection),  # refused, reset, disconnected
    (aiohttp.ClientPayloadError, _connection),  # a body cut off mid-stream
    (aiohttp.ClientResponseError, _malformed),  # an answer HTTP cannot read
    (aiohttp.ClientError, _connection),  # any other failed exchange
)
_CAUGHT = tuple(cls for cls, _ in ERROR_TABLE)


def translate(exc: BaseException, ctx: ErrorContext) -> RouterError:
    """The RouterError for one foreign exception (the first matching table row).

    Raises:
        TypeError: ``exc`` is not an exception the table knows.
    """
    return lookup(ERROR_TABLE, exc)(exc, ctx)


@contextmanager
def map_errors(ctx: ErrorContext) -> Iterator[None]:
    """Re-raise anything the exchange raises as a typed RouterError.

    Raises:
        BackendUnavailable: connection refused or lost (the base URL is in the message).
        BackendTimeout: no answer within the client's timeout.
        ModelNotFound: 404 (the server does not serve the model, or a wrong base URL).
        BackendResponseError: any other status (``status_code``; 401 with a key hint;
            429 and 5xx are retryable), an error inside a stream, a malformed reply.
        ConfigError: the base URL cannot be requested (not http(s), invalid).
    """
    with translating(_CAUGHT, lambda exc: translate(exc, ctx)):
        yield

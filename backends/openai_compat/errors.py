"""Translating the ``openai`` client's exceptions into RouterErrors.

Everything the client raises passes through :func:`map_errors` once, at the boundary
of :class:`~qwen_router.backends.openai_compat.OpenAIBackend`; nothing outside
``backends/`` sees an ``openai.*`` exception. The client already wraps its transport
errors in ``APIConnectionError`` / ``APITimeoutError``, also while a stream is read.
:data:`ERROR_TABLE` is ordered most specific first and is what the completeness test
walks: every exception class ``openai`` exports has its own row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import openai
from qwen_router.errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
    RouterError,
)

from ..errors_map import lookup, translating
from .wire import MalformedEvent

__all__ = ["ERROR_TABLE", "ErrorContext", "map_errors", "translate"]

_NAME = "openai"
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


def _stopped(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return BackendError(
        f"{ctx.base_url} stopped the answer early: {exc}",
        backend=_NAME,
        model=ctx.model,
    )


def _client(exc: BaseException, ctx: ErrorContext) -> RouterError:
    return ConfigError(f"the openai client for {ctx.base_url} failed: {exc}")


# Most specific first: the first class the exception is an instance of wins.
ERROR_TABLE: tuple[tuple[type[BaseException], Mapper], ...] = (
    (openai.APITimeoutError, _timeout),  # a subclass of APIConnectionError
    (openai.APIConnectionError, _connection),  # refused, reset, dropped mid-stream
    (openai.NotFoundError, _not_found),
    (openai.OAuthError, _status),
    (openai.AuthenticationError, _status),  # 401, with a hint
    (openai.PermissionDeniedError, _status),  # 403
    (openai.BadRequestError, _status),  # 400
    (openai.ConflictError, _status),  # 409
    (openai.UnprocessableEntityError, _status),  # 422
    (openai.RateLimitError, _status),  # 429: retryable
    (openai.InternalServerError, _status),  # >= 500: retryable
    (openai.APIStatusError, _status),  # any other status
    (openai.APIResponseValidationError, _malformed),
    (openai.APIError, _stream_error),  # an {"error": ...} object inside a 200 stream
    (openai.LengthFinishReasonError, _stopped),
    (openai.ContentFilterFinishReasonError, _stopped),
    (openai.WebSocketConnectionClosedError, _connection),
    (openai.WebSocketQueueFullError, _connection),
    (openai.InvalidWebhookSignatureError, _client),
    (openai.OpenAIError, _client),  # e.g. a failing credentials provider
    (json.JSONDecodeError, _malformed),  # a broken SSE data line
    (MalformedEvent, _malformed),  # an SSE data line that is not a JSON object
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
    """Re-raise anything the openai client raises as a typed RouterError.

    Raises:
        BackendUnavailable: connection refused or lost (the base URL is in the message).
        BackendTimeout: no answer within the client's timeout.
        ModelNotFound: 404 (the server does not serve the model, or a wrong base URL).
        BackendResponseError: any other status (``status_code``; 401 with a key hint;
            429 and 5xx are retryable), an error inside a stream, a malformed reply.
        BackendError: the server ended the answer early (length / content filter).
        ConfigError: the client itself is misconfigured.
    """
    with translating(_CAUGHT, lambda exc: translate(exc, ctx)):
        yield

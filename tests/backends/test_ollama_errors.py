"""The Ollama backend's error map: complete, and each row says the right thing."""

from __future__ import annotations

import inspect
import json

import httpx
import ollama
import pydantic
import pytest
from qwen_router.backends.ollama.errors import (
    ERROR_TABLE,
    ErrorContext,
    ThinkingUnsupported,
    map_errors,
)
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ImageError,
    ModelNotFound,
    RouterError,
)

CTX = ErrorContext(host="http://127.0.0.1:9", model="qwen3:tiny")


def _library_exceptions() -> list[type[BaseException]]:
    """Every exception class the ollama client and httpx define, plus what the
    client raises from the standard library and pydantic."""
    found: list[type[BaseException]] = []
    for module in (ollama, httpx):
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException):
                found.append(value)
    found += [
        ConnectionError,  # ollama.Client: httpx.ConnectError -> ConnectionError
        ConnectionRefusedError,
        ConnectionResetError,
        TimeoutError,
        json.JSONDecodeError,  # a broken NDJSON line
        pydantic.ValidationError,  # a reply that does not fit ChatResponse
        ValueError,  # ollama.Image serialisation
    ]
    return found


def _instance(cls: type[BaseException]) -> BaseException:
    request = httpx.Request("POST", "http://127.0.0.1:9/api/chat")
    if cls is httpx.HTTPStatusError:
        response = httpx.Response(503, request=request, json={"error": "server busy"})
        return cls("503", request=request, response=response)
    if cls is ollama.ResponseError:
        return cls('{"error": "boom"}', 500)
    if cls is json.JSONDecodeError:
        return cls("Expecting value", "{oops", 0)
    if cls is pydantic.ValidationError:
        try:
            ollama.ChatResponse.model_validate({"message": 3})
        except pydantic.ValidationError as exc:
            return exc
    params = inspect.signature(cls.__init__).parameters
    return cls() if len(params) == 1 else cls("something failed")


@pytest.mark.parametrize(
    "cls", _library_exceptions(), ids=lambda c: f"{c.__module__}.{c.__name__}"
)
def test_every_library_exception_is_mapped(cls: type[BaseException]) -> None:
    assert any(issubclass(cls, row) for row, _ in ERROR_TABLE), f"{cls} has no row"
    with pytest.raises(RouterError) as info:
        with map_errors(CTX):
            raise _instance(cls)
    assert isinstance(info.value.__cause__, cls)
    assert str(info.value)  # a one-line message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), BackendUnavailable),
        (ConnectionError("Failed to connect to Ollama."), BackendUnavailable),
        (httpx.ReadTimeout("slow"), BackendTimeout),
        (httpx.ConnectTimeout("slow"), BackendTimeout),
        (httpx.RemoteProtocolError("incomplete chunked read"), BackendUnavailable),
        (httpx.UnsupportedProtocol("ftp"), ConfigError),
        (ollama.RequestError("must provide a model"), BackendResponseError),
        (ValueError("Invalid image data"), ImageError),
        (json.JSONDecodeError("bad", "x", 0), BackendResponseError),
    ],
)
def test_rows(exc: BaseException, expected: type[RouterError]) -> None:
    with pytest.raises(expected):
        with map_errors(CTX):
            raise exc


def test_unreachable_names_the_host() -> None:
    with pytest.raises(BackendUnavailable) as info:
        with map_errors(CTX):
            raise httpx.ConnectError("[Errno 111] Connection refused")
    assert "http://127.0.0.1:9" in str(info.value)
    assert info.value.retryable


def test_model_not_found_hint_is_the_pull_command() -> None:
    with pytest.raises(ModelNotFound) as info:
        with map_errors(ErrorContext(host="h", model="qwen2.5:7b")):
            raise ollama.ResponseError(
                '{"error":"model \'qwen2.5:7b\' not found"}', 404
            )
    assert info.value.hint == "ollama pull qwen2.5:7b"
    assert not info.value.retryable


def test_status_codes() -> None:
    def mapped(error: str, status: int) -> RouterError:
        with pytest.raises(RouterError) as info:
            with map_errors(CTX):
                raise ollama.ResponseError(json.dumps({"error": error}), status)
        return info.value

    think = mapped('"qwen2.5:tiny" does not support thinking', 400)
    assert isinstance(think, ThinkingUnsupported)
    bad = mapped("invalid format", 400)
    assert isinstance(bad, BackendResponseError) and bad.status_code == 400
    assert not bad.retryable
    busy = mapped("server busy", 503)
    assert isinstance(busy, BackendResponseError) and busy.retryable


def test_error_line_mid_stream_says_the_answer_was_partial() -> None:
    ctx = ErrorContext(host="h", model="m", chunks=5)
    with pytest.raises(BackendResponseError) as info:
        with map_errors(ctx):
            raise ollama.ResponseError(
                "an error was encountered while running the model"
            )
    assert "after 5 chunks" in str(info.value) and "discarded" in str(info.value)


def test_router_errors_and_unrelated_exceptions_pass_through() -> None:
    with pytest.raises(ImageError):
        with map_errors(CTX):
            raise ImageError("bad")
    with pytest.raises(KeyError):
        with map_errors(CTX):
            raise KeyError("a bug stays a bug")

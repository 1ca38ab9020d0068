"""Typed errors from the OpenAI-compatible backend; fallbacks through the Dispatcher.

Every failure is produced for real by ``tests/openai_test_server.py`` on 127.0.0.1
(statuses, a stall past the client timeout, a connection cut mid-stream, an error
event mid-stream) or by a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from qwen_router.backends.base import Backend, GenerateRequest
from qwen_router.backends.dispatch import Attempt, Dispatcher
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.openai_compat import OpenAIBackend
from qwen_router.backends.openai_compat.errors import (
    ERROR_TABLE,
    ErrorContext,
    translate,
)
from qwen_router.backends.openai_compat.transport import StreamError, UpstreamStatus
from qwen_router.backends.openai_compat.wire import MalformedEvent
from qwen_router.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ImageError,
    ModelNotFound,
    RouterError,
)
from qwen_router.profiles import ModelSpec, RetryConfig
from qwen_router.types import GenerationParams, ImagePart, Message
from support.loopback import free_port
from support.openai_server import OpenAITestServer

MODEL = "qwen2.5-tiny"
PARAMS = GenerationParams(max_tokens=6, temperature=1.0, seed=1)


@pytest.fixture
def backend(openai_server: OpenAITestServer) -> Iterator[OpenAIBackend]:
    backend = OpenAIBackend(base_url=openai_server.base_url, api_key="k", timeout=120)
    yield backend
    backend.close()


def _request(model: str = MODEL, **kwargs: Any) -> GenerateRequest:
    messages = kwargs.pop("messages", [Message(role="user", content="Hi")])
    return GenerateRequest(model=model, messages=messages, params=PARAMS, **kwargs)


# --- the map is complete --------------------------------------------------------------
def _exported_exceptions(module: Any, names: list[str]) -> set[type[BaseException]]:
    return {
        obj
        for name in names
        if not name.startswith("_")
        and inspect.isclass(obj := getattr(module, name, None))
        and issubclass(obj, BaseException)
    }


@pytest.mark.parametrize("client", [httpx, aiohttp], ids=["httpx", "aiohttp"])
def test_every_exception_the_http_clients_export_falls_under_a_row(
    client: Any,
) -> None:
    exported = {
        cls
        for cls in _exported_exceptions(client, list(client.__all__))
        # the websocket client's and the multipart parser's, which plain requests
        # never raise (and warnings, which are not raised)
        if not cls.__name__.startswith(("WS", "WebSocket", "EofStream"))
        and not issubclass(cls, Warning)
    }
    rows = tuple(cls for cls, _ in ERROR_TABLE)
    assert len(exported) > 10, f"found few exception classes in {client.__name__}"
    assert sorted(c.__name__ for c in exported if not issubclass(c, rows)) == []


def test_the_transport_s_own_failures_have_rows() -> None:
    rows = {cls for cls, _ in ERROR_TABLE}
    assert {UpstreamStatus, StreamError, MalformedEvent} <= rows


# --- each error, for real -------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (409, False),
        (422, False),
        (429, True),
        (500, True),
        (503, True),
    ],  # fmt: skip
)
def test_error_statuses_become_backend_response_errors(
    backend: OpenAIBackend,
    openai_server: OpenAITestServer,
    status: int,
    retryable: bool,
) -> None:
    openai_server.faults.fail_status = status
    with pytest.raises(BackendResponseError) as info:
        list(backend.stream(_request()))
    exc = info.value
    assert exc.status_code == status and exc.retryable is retryable
    assert exc.backend == "openai" and exc.model == MODEL
    assert f"injected failure {status}" in str(exc)
    assert isinstance(exc.__cause__, UpstreamStatus)


def test_an_error_body_that_is_not_json_is_quoted_short() -> None:
    """A proxy in front of the engine (nginx, a load balancer) answers with text or
    HTML: the message quotes its start instead of saying only the status."""
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>" + " " * 1000 + "x"
    exc = translate(UpstreamStatus(502, page), ErrorContext("http://gw/v1", MODEL))
    assert isinstance(exc, BackendResponseError) and exc.status_code == 502
    assert "502 Bad Gateway" in str(exc) and "x" not in str(exc).split("</html>")[1]
    assert exc.retryable


def test_a_wrong_key_is_401_with_a_hint(openai_server: OpenAITestServer) -> None:
    openai_server.faults.api_key = "right"
    backend = OpenAIBackend(base_url=openai_server.base_url, api_key="wrong")
    with pytest.raises(BackendResponseError) as info:
        backend.generate(_request())
    assert info.value.status_code == 401 and not info.value.retryable
    assert info.value.hint and "OPENAI_API_KEY" in info.value.hint
    assert not backend.health(MODEL).available  # health never raises


def test_an_unknown_model_is_model_not_found(backend: OpenAIBackend) -> None:
    with pytest.raises(ModelNotFound) as info:
        backend.generate(_request("qwen-missing"))
    assert "qwen-missing" in str(info.value) and not info.value.retryable
    assert info.value.hint and "/models" in info.value.hint


def test_nobody_listening_is_unavailable_naming_the_base_url() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(base_url=base_url, timeout=10)
    with pytest.raises(BackendUnavailable) as info:
        list(backend.stream(_request()))
    assert base_url in str(info.value) and info.value.retryable
    assert info.value.hint and "OPENAI_BASE_URL" in info.value.hint
    health = backend.health(MODEL)
    assert not health.available and base_url in health.detail
    with pytest.raises(BackendUnavailable):
        asyncio.run(backend.agenerate(_request()))


def test_a_stalled_server_is_a_timeout(openai_server: OpenAITestServer) -> None:
    openai_server.faults.stall_s = 60.0  # woken by the fixture's reset
    backend = OpenAIBackend(base_url=openai_server.base_url, timeout=0.5)
    with pytest.raises(BackendTimeout) as info:
        backend.generate(_request())
    assert openai_server.base_url in str(info.value) and info.value.retryable


def test_a_connection_cut_mid_stream_is_unavailable_after_output(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    openai_server.faults.drop_after = 2
    received = []
    with pytest.raises(BackendUnavailable) as info:
        for chunk in backend.stream(_request()):
            received.append(chunk)
    assert received and "lost after" in str(info.value)


def test_an_error_event_mid_stream_is_a_response_error(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    openai_server.faults.error_after = 1
    with pytest.raises(BackendResponseError) as info:
        list(backend.stream(_request()))
    assert "engine died" in str(info.value)


def test_a_stream_event_that_is_not_an_object_is_a_malformed_response(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    """Events are read as plain JSON (no SDK model per event): one that is not an
    object is a 502 naming the server, not an AttributeError from deep inside."""
    openai_server.faults.garbage_after = 1
    with pytest.raises(BackendResponseError) as info:
        list(backend.stream(_request()))
    assert info.value.status_code == 502
    assert "malformed" in str(info.value) and openai_server.base_url in str(info.value)


@pytest.mark.parametrize("stream", [True, False])
def test_usage_that_is_not_token_counts_is_a_malformed_response(
    backend: OpenAIBackend, openai_server: OpenAITestServer, stream: bool
) -> None:
    """Before, a count of the wrong type raised pydantic's ValidationError from
    inside the backend (an internal error, no fallback); it is the server's fault."""
    openai_server.faults.usage = {"prompt_tokens": "many", "completion_tokens": 1}
    with pytest.raises(BackendResponseError) as info:
        if stream:
            list(backend.stream(_request()))
        else:
            backend.generate(_request())
    assert info.value.status_code == 502
    message = str(info.value)
    assert "prompt_tokens" in message and openai_server.base_url in message


def test_async_errors_are_mapped_too(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    async def run(request: GenerateRequest) -> None:
        async for _ in backend.astream(request):
            pass

    openai_server.faults.fail_status, openai_server.faults.fail_count = 429, 1
    with pytest.raises(BackendResponseError) as info:
        asyncio.run(run(_request()))
    assert info.value.status_code == 429
    with pytest.raises(ModelNotFound):
        asyncio.run(run(_request("qwen-missing")))


def _astream(backend: OpenAIBackend, request: GenerateRequest) -> list[Any]:
    async def run() -> list[Any]:
        return [chunk async for chunk in backend.astream(request)]

    return asyncio.run(run())


@pytest.mark.parametrize("stream", [True, False], ids=["astream", "agenerate"])
@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        ({"stall_s": 60.0}, BackendTimeout, "did not answer in time"),
        ({"api_key": "right"}, BackendResponseError, "answered 401"),
        ({"fail_status": 503}, BackendResponseError, "answered 503"),
        ({"usage": {"prompt_tokens": "many"}}, BackendResponseError, "prompt_tokens"),
    ],
    ids=["stall", "wrong key", "503", "bad usage"],
)
def test_async_faults_are_the_sync_ones_typed_errors(
    openai_server: OpenAITestServer,
    fault: dict[str, Any],
    error: type[RouterError],
    match: str,
    stream: bool,
) -> None:
    """The async path runs on aiohttp, the sync one on httpx: the faults the sync
    tests inject, injected again, are the same typed errors."""
    timeout = 0.5 if "stall_s" in fault else 120  # the tiny model may be slow here
    backend = OpenAIBackend(base_url=openai_server.base_url, api_key="k", timeout=timeout)
    for name, value in fault.items():
        setattr(openai_server.faults, name, value)
    with pytest.raises(error, match=match) as info:
        if stream:
            _astream(backend, _request())
        else:
            asyncio.run(backend.agenerate(_request()))
    assert openai_server.base_url in str(info.value)


@pytest.mark.parametrize(
    ("fault", "error", "match"),
    [
        ({"drop_after": 2}, BackendUnavailable, "lost after 3 chunks"),
        ({"error_after": 1}, BackendResponseError, "engine died"),
        ({"garbage_after": 1}, BackendResponseError, "malformed"),
    ],
    ids=["cut", "error event", "not an object"],
)
def test_async_faults_mid_stream_are_the_sync_ones_typed_errors(
    backend: OpenAIBackend,
    openai_server: OpenAITestServer,
    fault: dict[str, Any],
    error: type[RouterError],
    match: str,
) -> None:
    for name, value in fault.items():
        setattr(openai_server.faults, name, value)
    with pytest.raises(error, match=match):
        _astream(backend, _request())


def test_async_model_listing(
    backend: OpenAIBackend, openai_server: OpenAITestServer
) -> None:
    assert sorted(asyncio.run(backend.alist_models())) == sorted(openai_server.models)


def test_an_unreadable_image_fails_before_any_request(
    backend: OpenAIBackend, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    part = ImagePart(image=str(tmp_path / "missing.png"))
    with pytest.raises(ImageError):
        backend.generate(_request(messages=[Message(role="user", content=[part])]))
    assert openai_server.requests == []


# --- fallbacks through the Dispatcher -------------------------------------------------
def _dispatcher(backends: dict[str, Backend]) -> Dispatcher:
    retry = RetryConfig(max_retries=1, backoff_s=0.0, cooldown_s=0.0)
    return Dispatcher(backends.__getitem__, retry, sleep=lambda _s: None)


def _make_request(spec: ModelSpec, backend: Backend) -> GenerateRequest:
    return _request(spec.name)


@pytest.fixture
def candidates(tiny_qwen2: Path) -> list[ModelSpec]:
    return [
        ModelSpec(backend="openai", name=MODEL),
        ModelSpec(backend="hf", name=str(tiny_qwen2)),
    ]


@pytest.fixture
def backends(backend: OpenAIBackend) -> dict[str, Backend]:
    return {
        "openai": backend,
        "hf": HFBackend(kind="hf", device="cpu", dtype="float32"),
    }


def test_a_failing_server_falls_back_to_the_local_model(
    openai_server: OpenAITestServer,
    backends: dict[str, Backend],
    candidates: list[ModelSpec],
) -> None:
    openai_server.faults.fail_status = 500
    attempts: list[Attempt] = []
    out = list(_dispatcher(backends).stream(candidates, _make_request, attempts))
    assert {spec for spec, _ in out} == {candidates[1]}
    result = out[-1][1].result
    assert result is not None and result.backend == "hf" and result.text.strip()
    assert [(a.backend, a.ok, a.error_type, a.attempt) for a in attempts] == [
        ("openai", False, "BackendResponseError", 1),
        ("openai", False, "BackendResponseError", 2),
        ("hf", True, None, 1),
    ]
    assert len(openai_server.requests) == 2  # the try and its one retry


def test_a_missing_model_falls_back_at_once_async(
    backends: dict[str, Backend], candidates: list[ModelSpec]
) -> None:
    missing = [ModelSpec(backend="openai", name="qwen-missing"), candidates[1]]
    attempts: list[Attempt] = []

    async def run() -> list[Any]:
        stream = _dispatcher(backends).astream(missing, _make_request, attempts)
        return [item async for item in stream]

    out = asyncio.run(run())
    assert out[-1][0] == candidates[1]
    assert [(a.backend, a.error_type) for a in attempts] == [
        ("openai", "ModelNotFound"),
        ("hf", None),
    ]


def test_a_server_that_is_down_falls_back(
    backends: dict[str, Backend], candidates: list[ModelSpec]
) -> None:
    backends["openai"] = OpenAIBackend(base_url=f"http://127.0.0.1:{free_port()}/v1")
    attempts: list[Attempt] = []
    out = list(_dispatcher(backends).stream(candidates, _make_request, attempts))
    assert out[-1][0] == candidates[1]
    assert [a.error_type for a in attempts] == [
        "BackendUnavailable",
        "BackendUnavailable",
        None,
    ]


def test_no_fallback_once_output_started_or_for_a_bad_request(
    openai_server: OpenAITestServer,
    backends: dict[str, Backend],
    candidates: list[ModelSpec],
) -> None:
    dispatcher = _dispatcher(backends)
    openai_server.faults.drop_after = 2
    with pytest.raises(BackendUnavailable, match="lost after"):
        list(dispatcher.stream(candidates, _make_request, []))
    openai_server.reset()
    openai_server.faults.fail_status = 400
    attempts: list[Attempt] = []
    with pytest.raises(BackendResponseError) as info:
        list(dispatcher.stream(candidates, _make_request, attempts))
    assert info.value.status_code == 400
    assert [a.backend for a in attempts] == ["openai"]
    assert isinstance(info.value, RouterError)


@pytest.mark.parametrize(
    "event",
    [
        [1, 2],
        {"choices": ["text"]},
        {"choices": [{"delta": "text"}]},
        {"choices": [{"delta": {"tool_calls": {"index": 0}}}]},
        {"choices": [], "usage": 7},
        # values of the wrong type
        {"choices": 5},
        {"choices": [{"delta": {"content": 5}}]},
        {"choices": [{"delta": {}, "finish_reason": 7}]},
        {"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": 1}},
        {"choices": [{"delta": {"tool_calls": [5]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": "a"}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"id": 3}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"function": "add"}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"function": {"arguments": {}}}]}}]},
    ],
)
def test_each_part_of_an_event_that_is_not_an_object_is_refused(
    event: Any,
) -> None:
    """The shapes a broken upstream can send, read the way ``_adeltas`` reads them."""
    from qwen_router.backends.openai_compat.wire import MalformedEvent, chunk_deltas

    with pytest.raises(MalformedEvent):
        list(chunk_deltas(event))


def test_a_completion_without_choices_is_refused() -> None:
    """Before, ``choices: []`` raised an IndexError from inside the backend."""
    from qwen_router.backends.openai_compat.wire import completion_delta

    reply = {"id": "c", "object": "chat.completion", "choices": [], "model": "m"}
    with pytest.raises(MalformedEvent, match="no choices"):
        completion_delta(reply)


def test_an_event_read_as_json_keeps_text_reasoning_tool_calls_and_usage() -> None:
    from qwen_router.backends.openai_compat.wire import chunk_deltas
    from qwen_router.backends.tool_calls import ToolCallAssembler

    calls = ToolCallAssembler()
    head = {"index": 0, "id": "call_1", "function": {"name": "add", "arguments": ""}}
    args = {"index": 0, "function": {"arguments": '{"a": 1}'}}
    usage = {"prompt_tokens": 5, "completion_tokens": 3,
             "completion_tokens_details": {"reasoning_tokens": 1}}  # fmt: skip
    events = [
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"content": "Hi", "reasoning_content": "hmm"}}]},
        {"choices": [{"delta": {"tool_calls": [head]}}]},
        {"choices": [{"delta": {"tool_calls": [args]}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": usage},
    ]  # fmt: skip
    deltas = [d for e in events for d in chunk_deltas(e, calls)]
    assert [(d.text, d.thinking, d.tokens) for d in deltas[:2]] == [
        ("", "", 0),
        ("Hi", "hmm", 1),
    ]
    finished = deltas[3]
    assert finished.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in finished.tool_calls] == [
        ("call_1", "add", {"a": 1})
    ]
    counted = deltas[-1].usage
    assert counted is not None
    counts = (counted.prompt_tokens, counted.completion_tokens, counted.thinking_tokens)
    assert counts == (5, 3, 1)

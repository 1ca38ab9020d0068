"""Where one ``serve`` request's time goes, measured in one process without HTTP.

The serve pair of ``bench overhead`` says how far ``serve`` is from a bare FastAPI
app under load; this says which part of a request the gap is in. Each part runs in
short chunks, and the chunks of all parts are interleaved (so that a change in the
machine's speed hits every part alike); the medians over chunks are reported:

- ``bare``: the bare FastAPI app of the serve pair, one ASGI request;
- ``serve``: the app ``qwen-router serve`` runs (FakeBackend), one ASGI request;
- ``http``: the same request with the service's ``plan`` and ``invoke`` answering
  at once with a plan and a result made before (a fake of the router's work, to
  leave only the HTTP layer: middleware, FastAPI's routing, dependencies and body
  parsing, the mapping of the OpenAI body, the disconnect watch, the response);
- ``plan``: ``RouterService.plan`` of that request (classification, policy, the
  prompt's size against the model's context);
- ``classify``: the profile's classifier alone, on the request's messages;
- ``invoke``: ``RouterService.invoke`` of the plan (the backend gate, the graph run,
  metrics and the token charge).

Each part is faster in a loop of its own than inside a whole request, whose code
and data do not stay in the CPU's caches: ``parts_alone`` (``http`` + ``plan`` +
``invoke``) falls short of ``serve`` by that much.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from qwen_router.bench.baselines import bare_app
from qwen_router.bench.server import overhead_profile, request_body

__all__ = ["PARTS", "bench_parts"]

PARTS = ("bare", "serve", "http", "plan", "classify", "invoke")
_PATH = "/v1/chat/completions"


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": _PATH,
        "raw_path": _PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def asgi_request(app: Any, body: bytes) -> Callable[[], Awaitable[None]]:
    """One POST of ``body`` to ``app``, as uvicorn would call it, minus the socket.

    Raises:
        RuntimeError: the app answered with a status other than 200.
    """
    scope = _scope(body)

    async def request() -> None:
        status = 0
        delivered = False
        never = asyncio.Event()  # the client stays: a disconnect watch just waits

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await never.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope, state={}), receive, send)
        if status != 200:
            raise RuntimeError(f"{_PATH} answered {status}")
        # a server's loop turns between requests: the request's cancelled watch
        # ends now, instead of piling up in a loop that never waits
        await asyncio.sleep(0)

    return request


async def _interleaved(
    parts: dict[str, Callable[[], Awaitable[Any]]], *, chunks: int, calls: int
) -> dict[str, float]:
    """Median µs per call of each part over ``chunks`` chunks of ``calls`` calls,
    the parts taking turns chunk by chunk (each chunk starts with a different one)."""
    for call in parts.values():  # warm-up: lazy imports, caches, first-call paths
        for _ in range(max(10, calls // 2)):
            await call()
    names = list(parts)
    times: dict[str, list[float]] = {name: [] for name in names}
    for chunk in range(chunks):
        turn = chunk % len(names)
        for name in names[turn:] + names[:turn]:
            call = parts[name]
            start = time.perf_counter()
            for _ in range(calls):
                await call()
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


async def _measure(profile: Path, *, chunks: int, calls: int) -> dict[str, float]:
    from qwen_router.server import create_app
    from qwen_router.server.disconnect import until_disconnect
    from qwen_router.server.openai_api import to_route_request
    from qwen_router.server.schemas import ChatCompletionRequest
    from qwen_router.settings import Settings

    settings = Settings(profile=str(profile), backend_concurrency=1024, log_level="warning")
    app = create_app(settings)
    body = request_body(False)
    raw = ChatCompletionRequest.model_validate(body).model_dump_json().encode()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        service = app.state.service
        parsed = ChatCompletionRequest.model_validate(body)
        route_request = to_route_request(
            parsed, service.resolve(parsed.model), allow_urls=False
        )
        classifier = service.router.classifier

        def plan() -> Awaitable[Any]:
            return service.plan(route_request, api="openai", caller="bench", state={})

        planned = await plan()
        result = await service.invoke(planned)
        serve = asgi_request(app, raw)

        async def canned_plan(*args: Any, **kwargs: Any) -> Any:
            return planned

        async def canned_invoke(plan: Any, watch: Any = None) -> Any:
            async def answered() -> Any:
                return result

            return await until_disconnect(answered(), watch)

        async def http() -> None:
            service.plan, service.invoke = canned_plan, canned_invoke
            try:
                await serve()
            finally:
                del service.plan, service.invoke  # the class's methods again

        async def classify() -> None:
            classifier.classify(route_request.messages)

        return await _interleaved(
            {
                "bare": asgi_request(bare_app(), raw),
                "serve": serve,
                "http": http,
                "plan": plan,
                "classify": classify,
                "invoke": lambda: service.invoke(planned),
            },
            chunks=chunks,
            calls=calls,
        )


def bench_parts(tmp: Path, *, rounds: int, calls: int) -> dict[str, Any]:
    """The parts of one request in µs (medians), each part's share of ``serve``,
    ``parts_alone`` (their sum, as a share of ``serve``), and ``serve`` against
    ``bare``."""
    chunks = max(1, rounds) * 10
    per_chunk = max(5, calls // 10)
    us = asyncio.run(_measure(overhead_profile(tmp), chunks=chunks, calls=per_chunk))
    serve = us["serve"]
    return {
        "chunks": chunks,
        "calls": per_chunk,
        "us": us,
        "share": {k: us[k] / serve for k in ("http", "plan", "classify", "invoke")},
        "parts_alone": (us["http"] + us["plan"] + us["invoke"]) / serve,
        "serve_vs_bare": serve / us["bare"],
    }

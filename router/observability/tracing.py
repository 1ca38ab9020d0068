"""OpenTelemetry spans: one per request, per graph node and per backend call.

The library side uses only the OpenTelemetry API, and only when a real tracer
provider is in place: with the API missing, or no provider configured (the API's
default proxy / no-op provider), every helper here returns at once with nothing
recorded (a shared null context, no span objects).

Span tree of one request::

    qwen_router.request            (gen_ai.operation.name=chat, route, usage, ...)
      qwen_router.plan             (route, stage, confidence; events per step)
      qwen_router.generate
        chat <model>               (a backend call: gen_ai.* attributes, per attempt)
      qwen_router.verify / qwen_router.repair / qwen_router.generate ...
      qwen_router.respond

Attributes follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``). Prompt
and answer text are recorded (``gen_ai.input.messages`` / ``gen_ai.output.messages``)
only when the operator opts in with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (read by settings).

Applications configure the SDK: see :mod:`.otel_setup` (``OTEL_*`` variables).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

__all__ = [
    "RequestTrace",
    "annotate_node",
    "atraced_stream",
    "backend_span",
    "capture_content",
    "end_backend_span",
    "node_span",
    "set_capture_content",
    "trace_request",
    "traced_stream",
    "trace_api",
    "tracer",
    "use_tracer_provider",
]

_NULL: AbstractContextManager[None] = nullcontext()
_state: dict[str, Any] = {"override": None, "cached": None, "content": False}
_api: Any = None  # the opentelemetry.trace module, or False when not installed


def trace_api() -> Any:
    """The ``opentelemetry.trace`` module, or False when the API is not installed."""
    global _api
    if _api is None:
        try:
            from opentelemetry import trace
        except ImportError:
            _api = False
        else:
            _api = trace
    return _api


def use_tracer_provider(provider: Any | None) -> None:
    """Trace into ``provider`` instead of the global one (``None``: the global one).

    For programs that keep their own provider, and for tests.
    """
    _state["override"] = provider
    _state["cached"] = None


def set_capture_content(on: bool) -> None:
    """Record prompts and answers on spans (off by default)."""
    _state["content"] = bool(on)


def capture_content() -> bool:
    return bool(_state["content"])


def tracer() -> Any | None:
    """The qwen-router tracer, or ``None`` when nothing would record its spans."""
    trace = trace_api()
    if not trace:
        return None
    provider = _state["override"] or trace.get_tracer_provider()
    cached = _state["cached"]
    if cached is not None and cached[0] is provider:
        return cached[1]
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        found = None  # remembered too: the next call is one identity check
    else:
        from qwen_router import __version__

        found = provider.get_tracer("qwen_router", __version__)
    _state["cached"] = (provider, found)
    return found


# --- graph nodes -------------------------------------------------------------------
def node_span(name: str, enabled: bool = True) -> AbstractContextManager[Any]:
    """A span for graph node ``name``, current while it runs (or a null context)."""
    t = tracer() if enabled else None
    if t is None:
        return _NULL
    return t.start_as_current_span(
        f"qwen_router.{name}", attributes={"qwen_router.node": name}
    )


def annotate_node(span: Any, attributes: Mapping[str, Any], steps: Iterable[Any]) -> None:
    """Add what a node decided (never content) to its span, and an event per step of
    its trace (anything with ``node`` and ``ms``)."""
    if span is None:
        return
    for key, value in attributes.items():
        span.set_attribute(key, value)
    for step in steps:
        span.add_event(step.node, {"qwen_router.ms": float(step.ms)})


# --- requests ----------------------------------------------------------------------
class RequestTrace:
    """The request span's handle: ``done(result)`` records how it was answered."""

    def __init__(self, span: Any = None) -> None:
        self.span = span

    def done(self, result: Any) -> Any:
        span = self.span
        if span is None or result is None:
            return result
        usage = result.usage
        span.set_attribute("qwen_router.route", result.route)
        span.set_attribute("qwen_router.backend", result.backend)
        span.set_attribute("gen_ai.response.model", result.model)
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        if result.finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [result.finish_reason])
        span.set_attribute("qwen_router.repairs", result.repairs)
        if result.verification is not None:
            span.set_attribute("qwen_router.verification", result.verification.status)
        return result


_NULL_REQUEST = RequestTrace()


class _RequestScope:
    def __init__(self, t: Any, request: Any) -> None:
        self._cm = t.start_as_current_span(
            "qwen_router.request", attributes=_request_attributes(request)
        )

    def __enter__(self) -> RequestTrace:
        return RequestTrace(self._cm.__enter__())

    def __exit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)


def trace_request(request: Any) -> AbstractContextManager[RequestTrace]:
    """The request span around one graph run (current inside the ``with``)."""
    t = tracer()
    if t is None:
        return nullcontext(_NULL_REQUEST)
    return _RequestScope(t, request)


def _request_attributes(request: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": getattr(request, "model", None) or "auto",
        "qwen_router.messages": len(getattr(request, "messages", ()) or ()),
    }
    if getattr(request, "route", None):
        attrs["qwen_router.requested_route"] = request.route
    return attrs


def _result_in(payload: Any) -> Any:
    if isinstance(payload, tuple) and len(payload) == 2:
        payload = payload[1]
    if isinstance(payload, Mapping):
        for update in payload.values():
            if isinstance(update, Mapping) and "result" in update:
                return update["result"]
    return None


def traced_stream(request: Any, items: Iterator[Any]) -> Iterator[Any]:
    """``items`` (a graph stream) under a request span: the span is made current only
    while the graph runs a step, never across a ``yield``, so a stream consumed or
    closed from elsewhere cannot unbalance the caller's context."""
    t = tracer()
    if t is None:
        yield from items
        return
    trace = trace_api()
    from opentelemetry import context as otel_context

    span = t.start_span("qwen_router.request", attributes=_request_attributes(request))
    ctx = trace.set_span_in_context(span)
    handle = RequestTrace(span)
    try:
        while True:
            token = otel_context.attach(ctx)
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                otel_context.detach(token)
            handle.done(_result_in(item))
            yield item
    except BaseException as exc:
        _fail(span, exc)
        raise
    finally:
        span.end()


async def atraced_stream(request: Any, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Async twin of :func:`traced_stream`."""
    t = tracer()
    if t is None:
        async for item in items:
            yield item
        return
    trace = trace_api()
    from opentelemetry import context as otel_context

    span = t.start_span("qwen_router.request", attributes=_request_attributes(request))
    ctx = trace.set_span_in_context(span)
    handle = RequestTrace(span)
    try:
        while True:
            token = otel_context.attach(ctx)
            try:
                item = await items.__anext__()
            except StopAsyncIteration:
                return
            finally:
                otel_context.detach(token)
            handle.done(_result_in(item))
            yield item
    except BaseException as exc:
        _fail(span, exc)
        raise
    finally:
        span.end()


def _fail(span: Any, exc: BaseException) -> None:
    if isinstance(exc, GeneratorExit):  # the consumer stopped early: not an error
        span.set_attribute("qwen_router.cancelled", True)
        return
    trace = trace_api()
    span.record_exception(exc)
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)[:200]))


# --- backend calls -----------------------------------------------------------------
def backend_span(spec: Any, backend: Any, request: Any) -> Any | None:
    """Start (not make current) the span of one backend call; ``None`` when off."""
    t = tracer()
    if t is None:
        return None
    trace = trace_api()
    in_process = bool(getattr(backend.capabilities, "in_process", False))
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": spec.backend,
        "gen_ai.provider.name": spec.backend,
        "gen_ai.request.model": spec.name,
        "qwen_router.model": str(spec),
    }
    params = request.params
    for key, value in (
        ("max_tokens", params.max_tokens),
        ("temperature", params.temperature),
        ("top_p", params.top_p),
        ("top_k", params.top_k),
        ("seed", params.seed),
    ):
        if value is not None:
            attrs[f"gen_ai.request.{key}"] = value
    if request.thinking is not None:
        attrs["qwen_router.thinking"] = bool(request.thinking)
    if capture_content():
        attrs["gen_ai.input.messages"] = _messages_json(request.messages)
    kind = trace.SpanKind.INTERNAL if in_process else trace.SpanKind.CLIENT
    return t.start_span(f"chat {spec.name}", kind=kind, attributes=attrs)


def end_backend_span(
    span: Any,
    *,
    result: Any = None,
    error: BaseException | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Record the call's outcome on its span and end it."""
    if span is None:
        return
    if result is not None:
        usage = result.usage
        span.set_attribute("gen_ai.response.model", result.model or "")
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        if result.finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [result.finish_reason])
        if capture_content():
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": result.text}],
                            "finish_reason": result.finish_reason or "stop",
                        }
                    ],
                    ensure_ascii=False,
                ),
            )
    for key, value in (extra or {}).items():
        if value is not None:
            span.set_attribute(key, value)
    if error is not None:
        _fail(span, error)
    span.end()


def _messages_json(messages: Sequence[Any]) -> str:
    return json.dumps(
        [
            {"role": m.role, "parts": [{"type": "text", "content": m.text}]}
            for m in messages
        ],
        ensure_ascii=False,
    )

"""Ollama-compatible endpoints: ``/api/chat``, ``/api/generate`` (NDJSON streams by
default, as in Ollama), ``/api/tags``, ``/api/show``, ``/api/ps``, ``/api/version``.

The model names are the same as on the OpenAI side (``auto``, ``auto:ROUTE``, profile
models); ``:latest`` is accepted. Each answer echoes the requested name in ``model``,
carries ``x-qwen-router-*`` headers and a ``qwen_router`` field (on the first and last
line of a stream).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from qwen_router.errors import ImageError, InputError, RouterError
from qwen_router.types import (
    GenerationParams,
    ImagePart,
    Message,
    RouteRequest,
    RouteResult,
    TextPart,
    ToolCall,
)

from .deps import admitted, authorized, service_of, session_of
from .disconnect import disconnect_watch
from .errors import ApiError, status_for
from .frames import Frame, placeholder
from .responses import (
    OllamaChatResponse,
    OllamaDetails,
    OllamaError,
    OllamaGenerateResponse,
    OllamaModel,
    OllamaPs,
    OllamaResponseMessage,
    OllamaShowResponse,
    OllamaStreamError,
    OllamaTags,
    OllamaVersion,
    RouterMetadata,
    dump_json,
    model_response,
)
from .schemas import (
    OllamaBaseRequest,
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaMessage,
    OllamaOptions,
    OllamaShowRequest,
)
from .service import ModelEntry, Plan, RouteStream
from .streaming import REPAIR_NOTE, start_stream
from .tools_wire import (
    IGNORED_OLLAMA_OPTIONS,
    ollama_format,
    ollama_tool_calls,
    refuse_unknown,
    to_tools,
    tool_message_fields,
)

__all__ = ["OLLAMA_COMPAT_VERSION", "router"]

OLLAMA_COMPAT_VERSION = "0.12.6"
log = logging.getLogger("qwen_router.server")
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OllamaError}
    for status in (400, 401, 404, 413, 429, 499, 500, 502, 503, 504)
}
router = APIRouter(
    prefix="/api",
    tags=["ollama"],
    dependencies=[Depends(authorized)],
    responses=_ERRORS,
)
_BUDGETS = {"low": 1024, "medium": 4096, "high": None}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _decode_image(data: str, where: str) -> bytes:
    text = data.strip()
    if text.startswith("data:") and ";base64," in text[:200]:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{where}: images must be base64-encoded") from None


def _message(index: int, message: OllamaMessage) -> Message:
    tools = tool_message_fields(message, f"message {index}")
    if not message.images:
        return Message(role=message.role, content=message.content, **tools)
    parts: list[Any] = [TextPart(text=message.content)] if message.content else []
    parts += [
        ImagePart(image=_decode_image(img, f"message {index} image {i}"))
        for i, img in enumerate(message.images)
    ]
    return Message(role=message.role, content=parts, **tools)


def _params(options: OllamaOptions | None) -> GenerationParams | None:
    """Generation parameters from Ollama's ``options``.

    Raises:
        InputError: an option this server does not support (``frequency_penalty`` set,
            or one it does not know).
    """
    if options is None:
        return None
    refuse_unknown(options.model_extra, IGNORED_OLLAMA_OPTIONS, where="option")
    if options.frequency_penalty:
        raise InputError(
            "option 'frequency_penalty' is not supported: use presence_penalty or "
            "repeat_penalty"
        )
    fields = {
        "max_tokens": options.num_predict
        if options.num_predict and options.num_predict > 0
        else None,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "top_k": options.top_k,
        "seed": options.seed,
        "stop": options.stop or None,
        "num_ctx": options.num_ctx,
        "repetition_penalty": options.repeat_penalty,
        "presence_penalty": options.presence_penalty,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    return GenerationParams(**fields) if fields else None


def _route_request(
    body: OllamaBaseRequest, messages: list[Message], entry: ModelEntry
) -> RouteRequest:
    think = body.think
    response_format = ollama_format(body.format)
    tools = to_tools(getattr(body, "tools", None))
    return RouteRequest(
        tools=tools,
        messages=messages,
        route=entry.route,
        model=entry.model,
        params=_params(body.options),
        thinking=None if think is None else bool(think),
        thinking_budget=_BUDGETS.get(think) if isinstance(think, str) else None,
        response_format=response_format,
    )


def _stats(result: RouteResult) -> dict[str, Any]:
    t, u = result.timings, result.usage
    ms = 1_000_000
    return {
        "done_reason": "length" if result.finish_reason == "length" else "stop",  # Ollama: "stop" after tool calls too
        "total_duration": int(t.total_ms * ms),
        "load_duration": int(t.load_ms * ms),
        "prompt_eval_count": u.prompt_tokens,
        "prompt_eval_duration": int((t.first_token_ms or 0.0) * ms),
        "eval_count": u.completion_tokens,
        "eval_duration": int(t.generate_ms * ms),
    }


def _line(data: BaseModel) -> str:
    return dump_json(data) + "\n"


def _piece(
    name: str,
    chat: bool,
    text: str,
    thinking: str,
    tool_calls: list[ToolCall] | None = None,
    **fields: Any,
) -> OllamaChatResponse | OllamaGenerateResponse:
    """One answer object (the whole answer, or one line of a stream)."""
    if chat:
        if tool_calls:
            message = OllamaResponseMessage(
                role="assistant", content=text, tool_calls=ollama_tool_calls(tool_calls)
            )
        else:
            message = OllamaResponseMessage(role="assistant", content=text)
        if thinking:
            message.thinking = thinking
        return OllamaChatResponse(
            model=name, created_at=_now(), message=message, **fields
        )
    answer = OllamaGenerateResponse(
        model=name, created_at=_now(), response=text, **fields
    )
    if thinking:
        answer.thinking = thinking
    return answer


def _token_frame(name: str, chat: bool, thinking: bool) -> Frame:
    """A stream line of text (and thinking): slots for ``created_at``, the text and
    the thinking."""
    thought = placeholder(2) if thinking else ""  # "": no thinking field
    piece = _piece(name, chat, placeholder(1), thought, done=False)
    piece.created_at = placeholder(0)
    return Frame(piece, 3 if thinking else 2, _line)


async def _render(stream: RouteStream, name: str, chat: bool) -> AsyncIterator[str]:
    plan = stream.plan
    first = True
    frames: dict[bool, Frame] = {}  # with thinking or not: a token's line
    try:
        async for event in stream:
            text, thinking = "", ""
            if event.type == "token":
                text, thinking = event.text, event.thinking
            elif event.type == "node" and event.node == "repair":
                text = REPAIR_NOTE  # marked as on the OpenAI stream
            if not (text or thinking):
                continue
            if first:  # the first line also says how the request was routed
                meta = RouterMetadata(**plan.metadata())
                yield _line(
                    _piece(name, chat, text, thinking, done=False, qwen_router=meta)
                )
                first = False
                continue
            thinks = bool(thinking)
            if thinks not in frames:
                frames[thinks] = _token_frame(name, chat, thinks)
            values = [_now(), text, thinking] if thinks else [_now(), text]
            yield frames[thinks].render(values)
    except RouterError as exc:
        yield _line(OllamaStreamError(error=str(exc), status=status_for(exc)[0]))
        return
    except Exception:  # never cut a stream without saying why
        log.exception("stream failed")
        yield _line(OllamaStreamError(error="internal server error", status=500))
        return
    result = stream.result
    if result is not None:
        meta = plan.metadata(result)
        if result.repairs:
            meta["answer"] = result.answer
        if chat and result.tool_calls:  # as Ollama: the calls on a line of their own
            yield _line(_piece(name, chat, "", "", result.tool_calls, done=False))
        yield _line(
            _piece(
                name,
                chat,
                "",
                "",
                done=True,
                **_stats(result),
                qwen_router=RouterMetadata(**meta),
            )
        )


def _answer(result: RouteResult, plan: Plan, name: str, chat: bool) -> BaseModel:
    return _piece(
        name,
        chat,
        result.answer,
        result.thinking or "",
        result.tool_calls,
        done=True,
        **_stats(result),
        qwen_router=RouterMetadata(**plan.metadata(result)),
    )


async def _serve(
    request: Request,
    body: OllamaBaseRequest,
    messages: list[Message],
    caller: str,
    chat: bool,
) -> Any:
    service = service_of(request)
    entry = service.resolve(body.model)
    state = request.scope.setdefault("state", {})
    plan = await service.plan(
        _route_request(body, messages, entry),
        api="ollama",
        caller=caller,
        state=state,
        session_id=session_of(request),
    )
    if body.stream:
        return await start_stream(
            service,
            plan,
            request,
            lambda stream: _render(stream, body.model, chat),
            media_type="application/x-ndjson",
        )
    result = await service.invoke(plan, disconnect_watch(request.receive))
    return model_response(
        _answer(result, plan, body.model, chat), headers=plan.headers(result)
    )


def _stream_doc(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "the answer; streamed (the default) as NDJSON, one object "
            "per line, the last with `done: true` (or an error object)",
            "content": {
                "application/x-ndjson": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                }
            },
        }
    }


@router.post(
    "/chat", response_model=OllamaChatResponse, responses=_stream_doc(OllamaChatResponse)
)
async def chat(
    body: OllamaChatRequest, request: Request, caller: str = Depends(admitted)
) -> Any:
    """Ollama chat: routed answer, NDJSON stream unless ``stream: false``.

    Raises:
        ApiError: unknown model (404), limits (400/413), busy backend (503).
        RouterError: bad input or a backend failure, mapped to its status.
    """
    messages = [_message(i, m) for i, m in enumerate(body.messages)]
    if not messages:  # Ollama loads the model and answers at once
        service_of(request).resolve(body.model)
        loaded = _piece(body.model, True, "", "", done=True, done_reason="load")
        return model_response(loaded)
    return await _serve(request, body, messages, caller, chat=True)


@router.post(
    "/generate",
    response_model=OllamaGenerateResponse,
    responses=_stream_doc(OllamaGenerateResponse),
)
async def generate(
    body: OllamaGenerateRequest, request: Request, caller: str = Depends(admitted)
) -> Any:
    """Ollama generate: ``prompt`` (+ ``system``, ``images``) as one user turn.

    Raises:
        ApiError: unknown model (404), limits (400/413), busy backend (503).
        RouterError: bad input or a backend failure, mapped to its status.
    """
    if not body.prompt.strip() and not body.images:
        service_of(request).resolve(body.model)
        loaded = _piece(body.model, False, "", "", done=True, done_reason="load")
        return model_response(loaded)
    messages = [Message(role="system", content=body.system)] if body.system else []
    user = OllamaMessage(role="user", content=body.prompt, images=body.images)
    messages.append(_message(len(messages), user))
    return await _serve(request, body, messages, caller, chat=False)


def _model_row(entry: ModelEntry) -> OllamaModel:
    return OllamaModel(
        name=entry.name,
        model=entry.name,
        modified_at="1970-01-01T00:00:00Z",
        size=0,
        digest=hashlib.sha256(entry.name.encode()).hexdigest(),
        details=OllamaDetails(),
    )


@router.get("/tags", response_model=OllamaTags)
async def tags(request: Request) -> Response:
    """Every model name this server answers to.

    Raises:
        ApiError: 503 while the server is starting.
    """
    rows = [_model_row(e) for e in service_of(request).models]
    return model_response(OllamaTags(models=rows))


@router.post("/show", response_model=OllamaShowResponse)
async def show(body: OllamaShowRequest, request: Request) -> Response:
    """Details of one model name, with its capabilities.

    Raises:
        ApiError: 400 without a model name; 404 for an unknown one.
    """
    name = body.model or body.name
    if not name:
        raise ApiError(400, "model is required", code="invalid_request", param="model")
    service = service_of(request)
    entry = service.resolve(name)
    shown = OllamaShowResponse(
        modelfile=f"# served by qwen-router\nFROM {entry.name}\n",
        parameters="",
        template="{{ .Prompt }}",
        details=OllamaDetails(),
        model_info={
            "qwen_router.kind": entry.kind,
            "qwen_router.route": entry.route,
            "qwen_router.model": entry.model,
            "qwen_router.profile": service.profile.name,
        },
        capabilities=["completion", "thinking", "vision", "tools"],
        modified_at="1970-01-01T00:00:00Z",
    )
    return model_response(shown)


@router.get("/ps", response_model=OllamaPs)
async def ps() -> Response:
    """Running models (the router manages loading itself; reported empty)."""
    return model_response(OllamaPs(models=[]))


@router.get("/version", response_model=OllamaVersion)
async def version() -> Response:
    """The Ollama API version this server is compatible with."""
    return model_response(OllamaVersion(version=OLLAMA_COMPAT_VERSION))

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
import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from qwen_router.errors import ImageError, RouterError
from qwen_router.types import (
    GenerationParams,
    ImagePart,
    Message,
    RouteRequest,
    RouteResult,
    TextPart,
)

from .deps import admitted, authorized, service_of
from .errors import ApiError, status_for
from .schemas import (
    OllamaBaseRequest,
    OllamaChatRequest,
    OllamaGenerateRequest,
    OllamaMessage,
    OllamaOptions,
    OllamaShowRequest,
)
from .service import ModelEntry, Plan, RouteStream
from .streaming import start_stream

__all__ = ["OLLAMA_COMPAT_VERSION", "router"]

OLLAMA_COMPAT_VERSION = "0.12.6"
router = APIRouter(prefix="/api", tags=["ollama"], dependencies=[Depends(authorized)])
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
    if not message.images:
        return Message(role=message.role, content=message.content)
    parts: list[Any] = [TextPart(text=message.content)] if message.content else []
    parts += [
        ImagePart(image=_decode_image(img, f"message {index} image {i}"))
        for i, img in enumerate(message.images)
    ]
    return Message(role=message.role, content=parts)


def _params(options: OllamaOptions | None) -> GenerationParams | None:
    if options is None:
        return None
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
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    return GenerationParams(**fields) if fields else None


def _route_request(
    body: OllamaBaseRequest, messages: list[Message], entry: ModelEntry
) -> RouteRequest:
    think = body.think
    fmt = body.format
    response_format: dict[str, Any] | None = None
    if fmt == "json":
        response_format = {"type": "json_object"}
    elif isinstance(fmt, dict):
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "format", "schema": fmt},
        }
    return RouteRequest(
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
        "done_reason": "length" if result.finish_reason == "length" else "stop",
        "total_duration": int(t.total_ms * ms),
        "load_duration": int(t.load_ms * ms),
        "prompt_eval_count": u.prompt_tokens,
        "prompt_eval_duration": int((t.first_token_ms or 0.0) * ms),
        "eval_count": u.completion_tokens,
        "eval_duration": int(t.generate_ms * ms),
    }


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


async def _render(stream: RouteStream, name: str, chat: bool) -> AsyncIterator[str]:
    plan = stream.plan

    def piece(text: str, thinking: str, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"model": name, "created_at": _now()}
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            data["message"] = message
        else:
            data["response"] = text
            if thinking:
                data["thinking"] = thinking
        data.update(extra)
        return data

    first = True
    try:
        async for event in stream:
            if event.type == "token" and (event.text or event.thinking):
                extra = {"qwen_router": plan.metadata()} if first else {}
                first = False
                yield _line(piece(event.text, event.thinking, done=False, **extra))
    except RouterError as exc:
        yield _line({"error": str(exc), "status": status_for(exc)[0]})
        return
    result = stream.result
    if result is not None:
        yield _line(
            piece(
                "", "", done=True, **_stats(result), qwen_router=plan.metadata(result)
            )
        )


def _answer(result: RouteResult, plan: Plan, name: str, chat: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"model": name, "created_at": _now()}
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": result.answer}
        if result.thinking:
            message["thinking"] = result.thinking
        data["message"] = message
    else:
        data["response"] = result.answer
        if result.thinking:
            data["thinking"] = result.thinking
    data.update(done=True, **_stats(result), qwen_router=plan.metadata(result))
    return data


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
        _route_request(body, messages, entry), api="ollama", caller=caller, state=state
    )
    if body.stream:
        return await start_stream(
            service,
            plan,
            request,
            lambda stream: _render(stream, body.model, chat),
            media_type="application/x-ndjson",
        )
    result = await service.invoke(plan)
    return JSONResponse(
        _answer(result, plan, body.model, chat), headers=plan.headers(result)
    )


@router.post("/chat")
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
        return {
            "model": body.model,
            "created_at": _now(),
            "done": True,
            "done_reason": "load",
            "message": {"role": "assistant", "content": ""},
        }
    return await _serve(request, body, messages, caller, chat=True)


@router.post("/generate")
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
        return {
            "model": body.model,
            "created_at": _now(),
            "response": "",
            "done": True,
            "done_reason": "load",
        }
    messages = [Message(role="system", content=body.system)] if body.system else []
    user = OllamaMessage(role="user", content=body.prompt, images=body.images)
    messages.append(_message(len(messages), user))
    return await _serve(request, body, messages, caller, chat=False)


def _model_row(entry: ModelEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "model": entry.name,
        "modified_at": "1970-01-01T00:00:00Z",
        "size": 0,
        "digest": hashlib.sha256(entry.name.encode()).hexdigest(),
        "details": {
            "format": "qwen-router",
            "family": "qwen-router",
            "families": ["qwen-router"],
            "parameter_size": "",
            "quantization_level": "",
        },
    }


@router.get("/tags")
async def tags(request: Request) -> dict[str, Any]:
    """Every model name this server answers to.

    Raises:
        ApiError: 503 while the server is starting.
    """
    return {"models": [_model_row(e) for e in service_of(request).models]}


@router.post("/show")
async def show(body: OllamaShowRequest, request: Request) -> dict[str, Any]:
    """Details of one model name, with its capabilities.

    Raises:
        ApiError: 400 without a model name; 404 for an unknown one.
    """
    name = body.model or body.name
    if not name:
        raise ApiError(400, "model is required", code="invalid_request", param="model")
    service = service_of(request)
    entry = service.resolve(name)
    return {
        "modelfile": f"# served by qwen-router\nFROM {entry.name}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": _model_row(entry)["details"],
        "model_info": {
            "qwen_router.kind": entry.kind,
            "qwen_router.route": entry.route,
            "qwen_router.model": entry.model,
            "qwen_router.profile": service.profile.name,
        },
        "capabilities": ["completion", "thinking", "vision"],
        "modified_at": "1970-01-01T00:00:00Z",
    }


@router.get("/ps")
async def ps() -> dict[str, Any]:
    """Running models (the router manages loading itself; reported empty)."""
    return {"models": []}


@router.get("/version")
async def version() -> dict[str, str]:
    """The Ollama API version this server is compatible with."""
    return {"version": OLLAMA_COMPAT_VERSION}

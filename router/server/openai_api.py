"""OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

``model`` is ``auto`` (the classifier routes), ``auto:ROUTE`` (a forced route), or a
model (``BACKEND:MODEL`` or a name from the profile) that bypasses the route's model.
Thinking comes back in ``reasoning_content``; ``thinking_budget`` and
``chat_template_kwargs.enable_thinking`` are accepted as extra body fields. Every
answer carries ``x-qwen-router-*`` headers and a ``qwen_router`` body field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from qwen_router.errors import ImageError, RouterError
from qwen_router.images import load_image_bytes
from qwen_router.types import (
    GenerationParams,
    ImagePart,
    Message,
    RouteRequest,
    RouteResult,
    TextPart,
)

from .deps import admitted, authorized, service_of
from .errors import error_payload, status_for
from .schemas import ChatCompletionRequest, ImageUrlPart, OpenAIMessage
from .service import ModelEntry, Plan, RouteStream
from .streaming import start_stream

__all__ = ["router", "to_route_request"]

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(authorized)])
_REPAIR_NOTE = "\n\n[verifier refuted the answer; repairing]\n\n"


def _image(part: ImageUrlPart, where: str, allow_urls: bool) -> ImagePart:
    url = part.image_url.url.strip()
    if url.startswith("data:"):
        if ";base64," not in url[:200]:
            raise ImageError(f"{where}: a data URL must be base64-encoded")
        return ImagePart(image=load_image_bytes(url, where=where))
    if url.startswith(("http://", "https://")):
        if not allow_urls:
            raise ImageError(
                f"{where}: image URLs are not fetched by this server",
                hint="send the image as a data: URL",
            )
        return ImagePart(image=url)
    raise ImageError(f"{where}: image_url must be a data: URL")


def _message(index: int, message: OpenAIMessage, allow_urls: bool) -> Message:
    role = "system" if message.role == "developer" else message.role
    content = message.content
    if content is None or isinstance(content, str):
        return Message(role=role, content=content or "")
    parts: list[Any] = []
    for pi, part in enumerate(content):
        if isinstance(part, ImageUrlPart):
            parts.append(_image(part, f"message {index} part {pi}", allow_urls))
        else:
            parts.append(TextPart(text=part.text))
    return Message(role=role, content=parts)


def to_route_request(
    body: ChatCompletionRequest, entry: ModelEntry, *, allow_urls: bool
) -> RouteRequest:
    """The internal request for an OpenAI body served by ``entry``.

    Raises:
        ImageError: an image part that is not a data URL (or a disallowed URL).
    """
    stop = [body.stop] if isinstance(body.stop, str) else body.stop
    fields = {
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "stop": stop or None,
        "seed": body.seed,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    kwargs = body.chat_template_kwargs
    response_format = body.response_format
    if response_format and response_format.get("type") == "text":
        response_format = None
    return RouteRequest(
        messages=[_message(i, m, allow_urls) for i, m in enumerate(body.messages)],
        route=entry.route,
        model=entry.model,
        params=GenerationParams(**fields) if fields else None,
        thinking=kwargs.enable_thinking if kwargs else None,
        thinking_budget=body.thinking_budget,
        response_format=response_format,
    )


def _usage(result: RouteResult) -> dict[str, Any]:
    u = result.usage
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "completion_tokens_details": {"reasoning_tokens": u.thinking_tokens},
    }


def _finish(result: RouteResult) -> str:
    return "length" if result.finish_reason == "length" else "stop"


def _completion(
    result: RouteResult, plan: Plan, cid: str, created: int
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.answer}
    if result.thinking:
        message["reasoning_content"] = result.thinking
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": result.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(result),
                "logprobs": None,
            }
        ],
        "usage": _usage(result),
        "qwen_router": plan.metadata(result),
    }


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def _render(
    stream: RouteStream, cid: str, created: int, include_usage: bool
) -> AsyncIterator[str]:
    plan = stream.plan

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": plan.model,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            ],
        }
        if include_usage:
            data["usage"] = None
        data.update(extra)
        return _sse(data)

    yield chunk({"role": "assistant", "content": ""}, qwen_router=plan.metadata())
    try:
        async for event in stream:
            if event.type == "token":
                if event.thinking:
                    yield chunk({"reasoning_content": event.thinking})
                if event.text:
                    yield chunk({"content": event.text})
            elif event.type == "node" and event.node == "repair":
                yield chunk({"content": _REPAIR_NOTE})
    except RouterError as exc:
        status, code = status_for(exc)
        yield _sse(error_payload("openai", status, str(exc), code=code))
        yield "data: [DONE]\n\n"
        return
    result = stream.result
    if result is not None:
        meta = plan.metadata(result)
        if result.repairs:
            meta["answer"] = result.answer
        yield chunk({}, _finish(result), qwen_router=meta)
        if include_usage:
            yield _sse(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": plan.model,
                    "choices": [],
                    "usage": _usage(result),
                }
            )
    yield "data: [DONE]\n\n"


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, caller: str = Depends(admitted)
) -> Any:
    """Answer a chat completion, routed; ``stream: true`` answers with SSE chunks.

    Raises:
        ApiError: unknown model (404), limits (400/413), busy backend (503).
        RouterError: bad input or a backend failure, mapped to its status.
    """
    service = service_of(request)
    entry = service.resolve(body.model)
    route_request = to_route_request(
        body, entry, allow_urls=service.settings.allow_image_urls
    )
    state = request.scope.setdefault("state", {})
    plan = await service.plan(route_request, api="openai", caller=caller, state=state)
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return await start_stream(
            service,
            plan,
            request,
            lambda stream: _render(stream, cid, created, include_usage),
            media_type="text/event-stream",
        )
    result = await service.invoke(plan)
    return JSONResponse(
        _completion(result, plan, cid, created), headers=plan.headers(result)
    )


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    """``auto``, ``auto:ROUTE`` for every route, and every model of the profile.

    Raises:
        ApiError: 503 while the server is starting.
    """
    service = service_of(request)
    return {
        "object": "list",
        "data": [
            {
                "id": e.name,
                "object": "model",
                "created": 0,
                "owned_by": "qwen-router",
                "qwen_router": {"kind": e.kind, "route": e.route, "model": e.model},
            }
            for e in service.models
        ],
    }

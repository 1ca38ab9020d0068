"""OpenAI-compatible endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models``.

``model`` is ``auto`` (the classifier routes), ``auto:ROUTE`` (a forced route), or a
model (``BACKEND:MODEL`` or a name from the profile) that bypasses the route's model.
Thinking comes back in ``reasoning_content``; ``thinking_budget`` and
``chat_template_kwargs.enable_thinking`` are accepted as extra body fields. Every
answer carries ``x-qwen-router-*`` headers and a ``qwen_router`` body field.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from qwen_router.errors import ImageError, RouterError
from qwen_router.images import load_image_bytes
from qwen_router.structured import parse_response_format
from qwen_router.types import (
    GenerationParams,
    ImagePart,
    Message,
    RouteRequest,
    RouteResult,
    TextPart,
)

from .deps import admitted, authorized, service_of, session_of
from .disconnect import disconnect_watch
from .errors import error_payload, status_for
from .frames import Frame, placeholder
from .responses import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
    ModelCard,
    ModelCardInfo,
    ModelList,
    OpenAIError,
    RouterMetadata,
    TokenDetails,
    dump_json,
    model_response,
)
from .schemas import ChatCompletionRequest, ImageUrlPart, OpenAIMessage
from .service import ModelEntry, Plan, RouteStream
from .streaming import REPAIR_NOTE, start_stream
from .tools_wire import (
    IGNORED_OPENAI_FIELDS,
    REFUSED_OPENAI_FIELDS,
    openai_tool_call_deltas,
    openai_tool_calls,
    refuse_unknown,
    refuse_unsupported,
    to_tool_choice,
    to_tools,
    tool_message_fields,
)

__all__ = ["router", "to_route_request"]

log = logging.getLogger("qwen_router.server")
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIError}
    for status in (400, 401, 404, 413, 422, 429, 499, 500, 502, 503, 504)
}
router = APIRouter(
    prefix="/v1",
    tags=["openai"],
    dependencies=[Depends(authorized)],
    responses=_ERRORS,
)


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
    tools = tool_message_fields(message, f"message {index}")
    content = message.content
    if content is None or isinstance(content, str):
        return Message(role=role, content=content or "", **tools)
    parts: list[Any] = []
    for pi, part in enumerate(content):
        if isinstance(part, ImageUrlPart):
            parts.append(_image(part, f"message {index} part {pi}", allow_urls))
        else:
            parts.append(TextPart(text=part.text))
    return Message(role=role, content=parts, **tools)


def to_route_request(
    body: ChatCompletionRequest, entry: ModelEntry, *, allow_urls: bool
) -> RouteRequest:
    """The internal request for an OpenAI body served by ``entry``.

    Raises:
        ImageError: an image part that is not a data URL (or a disallowed URL).
    """
    refuse_unsupported(body.model_dump(include=set(REFUSED_OPENAI_FIELDS)))
    refuse_unknown(body.model_extra, IGNORED_OPENAI_FIELDS)
    stop = [body.stop] if isinstance(body.stop, str) else body.stop
    fields = {
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k if body.top_k and body.top_k > 0 else None,
        "presence_penalty": body.presence_penalty,
        "repetition_penalty": body.repetition_penalty,
        "stop": stop or None,
        "seed": body.seed,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    kwargs = body.chat_template_kwargs
    response_format = body.response_format
    if parse_response_format(response_format) is None:
        response_format = None
    tools = to_tools(body.tools)
    return RouteRequest(
        messages=[_message(i, m, allow_urls) for i, m in enumerate(body.messages)],
        route=entry.route,
        model=entry.model,
        params=GenerationParams(**fields) if fields else None,
        thinking=kwargs.enable_thinking if kwargs else None,
        thinking_budget=body.thinking_budget,
        response_format=response_format,
        tools=tools,
        tool_choice=to_tool_choice(body.tool_choice, tools),
        parallel_tool_calls=body.parallel_tool_calls,
    )


def _usage(result: RouteResult) -> CompletionUsage:
    u = result.usage
    return CompletionUsage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.total_tokens,
        completion_tokens_details=TokenDetails(reasoning_tokens=u.thinking_tokens),
    )


def _finish(result: RouteResult) -> str:
    if result.tool_calls:
        return "tool_calls"
    return "length" if result.finish_reason == "length" else "stop"


def _completion(
    result: RouteResult, plan: Plan, cid: str, created: int
) -> ChatCompletion:
    if result.tool_calls:
        message = ChatCompletionMessage(
            role="assistant",
            content=result.answer or None,
            tool_calls=openai_tool_calls(result.tool_calls),
        )
    else:
        message = ChatCompletionMessage(role="assistant", content=result.answer)
    if result.thinking:
        message.reasoning_content = result.thinking
    return ChatCompletion(
        id=cid,
        created=created,
        model=result.model,
        choices=[
            ChatCompletionChoice(
                index=0, message=message, finish_reason=_finish(result), logprobs=None
            )
        ],
        usage=_usage(result),
        qwen_router=RouterMetadata(**plan.metadata(result)),
    )


def _sse(data: BaseModel | dict[str, Any]) -> str:
    text = (
        dump_json(data)
        if isinstance(data, BaseModel)
        else dump_json(OpenAIError.model_validate(data))
    )
    return f"data: {text}\n\n"


async def _render(
    stream: RouteStream, cid: str, created: int, include_usage: bool
) -> AsyncIterator[str]:
    plan = stream.plan
    frames: dict[tuple[str, str], Frame] = {}  # (model, delta field): a token's chunk

    def model_of(
        delta: ChunkDelta, finish: str | None = None, meta: dict[str, Any] | None = None
    ) -> ChatCompletionChunk:
        data = ChatCompletionChunk(
            id=cid,
            created=created,
            model=plan.model,  # the model answering, once the first token named it
            choices=[
                ChunkChoice(index=0, delta=delta, finish_reason=finish, logprobs=None)
            ],
        )
        if include_usage:
            data.usage = None
        if meta is not None:
            data.qwen_router = RouterMetadata(**meta)
        return data

    def chunk(
        delta: ChunkDelta, finish: str | None = None, meta: dict[str, Any] | None = None
    ) -> str:
        return _sse(model_of(delta, finish, meta))

    def token(field: str, text: str) -> str:
        frame = frames.get((plan.model, field))
        if frame is None:
            delta = ChunkDelta(**{field: placeholder(0)})
            frame = frames[plan.model, field] = Frame(model_of(delta), 1, _sse)
        return frame.render([text])

    yield chunk(ChunkDelta(role="assistant", content=""), meta=plan.metadata())
    try:
        async for event in stream:
            if event.type == "token":
                if event.thinking:
                    yield token("reasoning_content", event.thinking)
                if event.text:
                    yield token("content", event.text)
            elif event.type == "node" and event.node == "repair":
                yield chunk(ChunkDelta(content=REPAIR_NOTE))
    except RouterError as exc:
        status, code = status_for(exc)
        yield _sse(error_payload("openai", status, str(exc), code=code))
        yield "data: [DONE]\n\n"
        return
    except Exception:  # never cut a stream without saying why
        log.exception("stream failed")
        yield _sse(
            error_payload("openai", 500, "internal server error", code="internal_error")
        )
        yield "data: [DONE]\n\n"
        return
    result = stream.result
    if result is not None:
        meta = plan.metadata(result)
        if result.repairs:
            meta["answer"] = result.answer
        for calls in openai_tool_call_deltas(result.tool_calls):
            yield chunk(ChunkDelta(tool_calls=calls))
        yield chunk(ChunkDelta(), _finish(result), meta=meta)
        if include_usage:
            yield _sse(
                ChatCompletionChunk(
                    id=cid,
                    created=created,
                    model=result.model,
                    choices=[],
                    usage=_usage(result),
                )
            )
    yield "data: [DONE]\n\n"


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "a completion; with `stream: true`, server-sent events "
            "of chat.completion.chunk objects, ending with `data: [DONE]`",
            "content": {
                "text/event-stream": {
                    "schema": {"$ref": "#/components/schemas/ChatCompletionChunk"}
                }
            },
        }
    },
)
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
    plan = await service.plan(
        route_request,
        api="openai",
        caller=caller,
        state=state,
        session_id=session_of(request, body.user),
    )
    cid, created = f"chatcmpl-{secrets.token_hex(16)}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return await start_stream(
            service,
            plan,
            request,
            lambda stream: _render(stream, cid, created, include_usage),
            media_type="text/event-stream",
        )
    result = await service.invoke(plan, disconnect_watch(request.receive))
    return model_response(
        _completion(result, plan, cid, created), headers=plan.headers(result)
    )


@router.get("/models", response_model=ModelList)
async def list_models(request: Request) -> Response:
    """``auto``, ``auto:ROUTE`` for every route, and every model of the profile.

    Raises:
        ApiError: 503 while the server is starting.
    """
    service = service_of(request)
    cards = ModelList(
        object="list",
        data=[
            ModelCard(
                id=e.name,
                object="model",
                created=0,
                owned_by="qwen-router",
                qwen_router=ModelCardInfo(kind=e.kind, route=e.route, model=e.model),
            )
            for e in service.models
        ],
    )
    return model_response(cards)

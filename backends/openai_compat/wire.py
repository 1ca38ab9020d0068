"""Conversions between qwen-router types and OpenAI chat-completions wire shapes,
and turning response deltas into chunks.

Used only by :mod:`qwen_router.backends.openai_compat`; no network I/O (image files
named in a message are read).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from qwen_router.images import load_image_bytes
from qwen_router.thinking import THINK_CLOSE, THINK_OPEN
from qwen_router.types import GenerationParams, Message, TextPart, ToolCall, Usage

from ..tool_calls import ToolCallAssembler
from ..types import GenerateRequest, RawDelta

__all__ = [
    "MalformedEvent",
    "chunk_deltas",
    "completion_delta",
    "model_ids",
    "open_thought",
    "response_format",
    "sampling",
    "tool_fields",
    "wire_message",
]

_PASS_THROUGH = ("http://", "https://", "data:")
_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)


def _image_url(image: str | bytes, where: str) -> str:
    # http(s) URLs are the server's to fetch; data URLs pass as they are.
    if isinstance(image, str) and image.strip().startswith(_PASS_THROUGH):
        return image.strip()
    data = load_image_bytes(image, where=where)
    mime = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    if mime is None:
        mime = "image/webp" if data[8:12] == b"WEBP" else "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def wire_message(message: Message, index: int) -> dict[str, Any]:
    """One OpenAI chat message; image parts become ``image_url`` parts (data URLs).

    Raises:
        ImageError: an image path, bytes or base64 that cannot be read.
    """
    if isinstance(message.content, str):
        return _with_tool_fields(
            {"role": message.role, "content": message.content}, message
        )
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.content):
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            url = _image_url(part.image, f"message {index} part {j}")
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return _with_tool_fields({"role": message.role, "content": parts}, message)


def _with_tool_fields(item: dict[str, Any], message: Message) -> dict[str, Any]:
    """An assistant turn's ``tool_calls`` (arguments as JSON text) and a tool turn's
    ``tool_call_id`` / ``name``, as OpenAI takes them."""
    if message.tool_calls:
        item["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in message.tool_calls
        ]
        if not item["content"]:
            item["content"] = None
    if message.tool_call_id is not None:
        item["tool_call_id"] = message.tool_call_id
    if message.name is not None and message.role == "tool":
        item["name"] = message.name
    return item


def tool_fields(request: GenerateRequest) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` for the request body."""
    if not request.tools:
        return {}
    out: dict[str, Any] = {
        "tools": [t.model_dump(exclude_none=True) for t in request.tools]
    }
    choice = request.tool_choice
    if choice is not None:
        out["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump()
    if request.parallel_tool_calls is not None:
        out["parallel_tool_calls"] = request.parallel_tool_calls
    return out


def sampling(params: GenerationParams, extra: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's sampling fields; ``top_k``, ``repetition_penalty`` go to ``extra``."""
    fields = ("max_tokens", "temperature", "top_p", "seed", "stop", "presence_penalty")
    out = {f: getattr(params, f) for f in fields if getattr(params, f) is not None}
    for name in ("top_k", "repetition_penalty"):
        if getattr(params, name) is not None:
            extra[name] = getattr(params, name)
    return out


def response_format(fmt: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI shapes pass through; a bare JSON schema is wrapped as ``json_schema``."""
    if fmt.get("type") in ("text", "json_object", "json_schema"):
        return dict(fmt)
    return {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": dict(fmt)},
    }


def _reasoning(obj: Any) -> str:
    return str(
        getattr(obj, "reasoning_content", None) or getattr(obj, "reasoning", None) or ""
    )


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        thinking_tokens=getattr(details, "reasoning_tokens", None) or 0,
    )


class MalformedEvent(ValueError):
    """A streamed event, or a part of one, that is not a JSON object."""


class _Fields:
    """Attribute access over a parsed JSON object, read as the SDK's models are: an
    absent field is ``None``.

    The openai SDK builds a pydantic model of every streamed event (about 0.1 ms
    each: a streaming server's largest cost per token); the stream reads a few fields
    of each, so events stay the dicts ``json.loads`` made.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if isinstance(value, dict):
            return _Fields(value)
        if isinstance(value, list):
            return [_Fields(v) if isinstance(v, dict) else v for v in value]
        return value


def _list(value: Any, what: str) -> list[Any]:
    """``value`` when it is a list (``None``: an empty one)."""
    if value is None:
        return []
    if not isinstance(value, list):
        kind = type(value).__name__
        raise MalformedEvent(f"a stream event's {what} is {kind}, not a list")
    return value


def _tool_fragments(fragments: Any) -> list[Any]:
    """A delta's tool-call fragments, each an object whose index is an integer and
    whose id, name and arguments are strings (any of them may be absent)."""
    checked = _list(fragments, "tool_calls")
    for fragment in checked:
        part = _fields(fragment, "tool call")
        function = _fields(part.function, "tool call's function")
        index = part.index
        if isinstance(index, bool) or not isinstance(index, (int, type(None))):
            raise MalformedEvent("a stream event's tool call index is not an integer")
        for name, value in (
            ("id", part.id),
            ("name", function.name),
            ("arguments", function.arguments),
        ):
            if not isinstance(value, (str, type(None))):
                what = f"a stream event's tool call {name}"
                raise MalformedEvent(f"{what} is not a string")
    return checked


def _wrong_type(exc: ValidationError, what: str) -> MalformedEvent:
    """An upstream value our types refuse (a count that is not an integer, a text
    that is not a string): a malformed response, not an error of ours."""
    problem = exc.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    return MalformedEvent(f"{what}: {where}: {problem['msg']}")


def _fields(value: Any, what: str) -> _Fields:
    """``value`` when it is an object (``None``: an empty one)."""
    if isinstance(value, _Fields):
        return value
    if value is None:
        return _Fields({})
    kind = type(value).__name__
    raise MalformedEvent(f"a stream event's {what} is {kind}, not an object")


def chunk_deltas(
    event: Any, calls: ToolCallAssembler | None = None
) -> Iterator[RawDelta]:
    """One SSE chunk, the event's JSON object; each content chunk counts as one token
    until usage arrives.

    Tool-call fragments go to ``calls``; the chunk with the finish reason carries
    the whole calls.

    Raises:
        MalformedEvent: the event, its choice, delta, usage or a tool call is not a
            JSON object, its choices or tool calls are not a list, or a value has the
            wrong type (a count that is not an integer, a text that is not a string).
    """
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"a stream event is {type(event).__name__}, not an object")
    chunk = _Fields(event)
    for item in _list(chunk.choices, "choices")[:1]:
        choice = _fields(item, "choice")
        delta = _fields(choice.delta, "delta")
        text, thinking = delta.content or "", _reasoning(delta)
        tokens = 1 if (text or thinking) else 0
        done: list[ToolCall] = []
        fragments = _tool_fragments(delta.tool_calls)
        if calls is not None:
            calls.add(fragments)
            if choice.finish_reason:
                done = calls.finish()
        try:
            out = RawDelta(text=text, thinking=thinking, tokens=tokens, tool_calls=done,
                           finish_reason=choice.finish_reason)  # fmt: skip
        except ValidationError as exc:
            raise _wrong_type(exc, "a stream event's choice") from None
        yield out
    if chunk.usage is not None:
        try:
            out = RawDelta(usage=_usage(_fields(chunk.usage, "usage")))
        except ValidationError as exc:
            raise _wrong_type(exc, "a stream event's usage") from None
        yield out


def completion_delta(reply: Mapping[str, Any]) -> RawDelta:
    """A whole (non-streamed) completion, its JSON object, as one delta.

    Raises:
        MalformedEvent: the completion has no choice, a part of it is not an object,
            or a value has the wrong type.
    """
    fields = _Fields(reply)
    choices = _list(fields.choices, "choices")
    if not choices:
        raise MalformedEvent("the completion has no choices")
    choice = _fields(choices[0], "choice")
    message = _fields(choice.message, "message")
    assembler = ToolCallAssembler()
    assembler.add(_tool_fragments(message.tool_calls))
    usage = None if fields.usage is None else _fields(fields.usage, "usage")
    try:
        return RawDelta(
            text=message.content or "",
            thinking=_reasoning(message),
            tool_calls=assembler.finish(),
            usage=_usage(usage),
            finish_reason=choice.finish_reason,
        )
    except ValidationError as exc:
        raise _wrong_type(exc, "the completion") from None


def model_ids(listing: Mapping[str, Any]) -> list[str]:
    """The ids of a ``GET /models`` answer (``{"data": [{"id": ...}, ...]}``).

    Raises:
        MalformedEvent: ``data`` is not a list of objects with a string id.
    """
    ids = []
    for item in _list(_Fields(listing).data, "model list"):
        model_id = _fields(item, "model").id
        if not isinstance(model_id, str):
            raise MalformedEvent("a listed model has no string id")
        ids.append(model_id)
    return ids


def open_thought(text: str) -> bool:
    return text.rfind(THINK_OPEN) > text.rfind(THINK_CLOSE)

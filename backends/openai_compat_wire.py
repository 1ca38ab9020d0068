"""Conversions between qwen-router types and OpenAI chat-completions wire shapes,
and turning response deltas into chunks.

Used only by :mod:`qwen_router.backends.openai_compat`; no network I/O (image files
named in a message are read).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from qwen_router.images import load_image_bytes
from qwen_router.thinking import THINK_CLOSE, THINK_OPEN
from qwen_router.types import GenerationParams, Message, TextPart, Usage

from .base import Chunk, GenerateResult, RawDelta, _Accumulator

__all__ = [
    "acollect",
    "chunk_deltas",
    "collect",
    "completion_delta",
    "last_result",
    "open_thought",
    "response_format",
    "sampling",
    "wire_message",
]

_NAME = "openai"
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
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.content):
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            url = _image_url(part.image, f"message {index} part {j}")
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": message.role, "content": parts}


def sampling(params: GenerationParams, extra: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's sampling fields; ``top_k``, ``repetition_penalty`` go to ``extra``."""
    fields = ("max_tokens", "temperature", "top_p", "seed", "stop")
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


def chunk_deltas(chunk: Any) -> Iterator[RawDelta]:
    """One SSE chunk; each content chunk counts as one token until usage arrives."""
    for choice in chunk.choices[:1]:
        text, thinking = choice.delta.content or "", _reasoning(choice.delta)
        tokens = 1 if (text or thinking) else 0
        yield RawDelta(text=text, thinking=thinking, tokens=tokens,
                       finish_reason=choice.finish_reason)  # fmt: skip
    if (usage := _usage(chunk.usage)) is not None:
        yield RawDelta(usage=usage)


def completion_delta(reply: Any) -> RawDelta:
    choice = reply.choices[0]
    return RawDelta(
        text=choice.message.content or "",
        thinking=_reasoning(choice.message),
        usage=_usage(reply.usage),
        finish_reason=choice.finish_reason,
    )


def open_thought(text: str) -> bool:
    return text.rfind(THINK_OPEN) > text.rfind(THINK_CLOSE)


def collect(
    model: str, deltas: Iterator[RawDelta], *, in_thinking: bool = False
) -> Iterator[Chunk]:
    acc = _Accumulator(_NAME, model, in_thinking=in_thinking)
    for delta in deltas:
        if (chunk := acc.add(delta)) is not None:
            yield chunk
    yield acc.finish()


async def acollect(
    model: str, deltas: AsyncIterator[RawDelta], *, in_thinking: bool = False
) -> AsyncIterator[Chunk]:
    acc = _Accumulator(_NAME, model, in_thinking=in_thinking)
    async for delta in deltas:
        if (chunk := acc.add(delta)) is not None:
            yield chunk
    yield acc.finish()


def last_result(chunks: list[Chunk]) -> GenerateResult:
    result = chunks[-1].result
    assert result is not None
    return result

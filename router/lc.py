"""Conversion between langchain-core messages and qwen-router messages.

The graph's ``messages`` channel holds langchain messages so that the compiled graph
drops into any ``MessagesState`` agent as a subgraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from .errors import InputError
from .types import ImagePart, Message, TextPart, normalize_messages

__all__ = ["from_langchain", "to_langchain"]

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def from_langchain(messages: Sequence[BaseMessage | Message | dict[str, Any]]) -> list[Message]:
    """Raises:
    InputError: a message of an unsupported type or shape.
    """
    plain: list[Message | dict[str, Any]] = []
    for m in messages:
        if isinstance(m, BaseMessage):
            role = _ROLES.get(m.type)
            if role is None:
                raise InputError(f"unsupported message type {m.type!r}")
            plain.append({"role": role, "content": m.content})
        else:
            plain.append(m)
    return normalize_messages(plain)


def to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for m in messages:
        content: Any = m.content
        if not isinstance(content, str):
            content = [_part(p) for p in content]
        if m.role == "user":
            out.append(HumanMessage(content=content))
        elif m.role == "assistant":
            out.append(AIMessage(content=content))
        elif m.role == "system":
            out.append(SystemMessage(content=content))
        else:
            out.append(ToolMessage(content=content, tool_call_id="tool"))
    return out


def _part(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image = part.image
    if isinstance(image, bytes):
        import base64

        image = "data:image/png;base64," + base64.b64encode(image).decode()
    return {"type": "image_url", "image_url": {"url": image}}

"""Conversion between langchain-core messages and qwen-router messages.

The graph's ``messages`` channel holds langchain messages so that the compiled graph
drops into any ``MessagesState`` agent as a subgraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

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
            plain.append(_plain(m, role))
        else:
            plain.append(m)
    return normalize_messages(plain)


_KEPT_BLOCKS = ("text", "image_url", "image")


def _plain(m: BaseMessage, role: str) -> dict[str, Any]:
    """A langchain message as a plain dict, tool calls and tool results included.

    Content blocks other than text and images (``tool_use``, ``reasoning``...) are
    left out: a tool call travels in ``tool_calls``, not in the content.
    """
    content: Any = m.content
    if isinstance(content, list):
        content = [
            {"type": "text", "text": b} if isinstance(b, str) else b
            for b in content
            if isinstance(b, str) or b.get("type") in _KEPT_BLOCKS
        ]
    item: dict[str, Any] = {"role": role, "content": content}
    if isinstance(m, AIMessage) and m.tool_calls:
        item["tool_calls"] = [
            {"id": c.get("id"), "name": c["name"], "arguments": c.get("args") or {}}
            for c in m.tool_calls
        ]
    routed = (getattr(m, "response_metadata", None) or {}).get("qwen_router")
    if isinstance(m, AIMessage) and isinstance(routed, dict) and routed.get("route"):
        item["route"] = str(routed["route"])
    if isinstance(m, ToolMessage):
        item["tool_call_id"] = m.tool_call_id
        if m.name:
            item["name"] = m.name
    return item


def to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for m in messages:
        content: Any = m.content
        if not isinstance(content, str):
            content = [_part(p) for p in content]
        if m.role == "user":
            out.append(HumanMessage(content=content))
        elif m.role == "assistant":
            calls = [{"id": c.id, "name": c.name, "args": c.arguments} for c in m.tool_calls]
            out.append(AIMessage(content=content, tool_calls=calls))
        elif m.role == "system":
            out.append(SystemMessage(content=content))
        else:
            out.append(
                ToolMessage(content=content, tool_call_id=m.tool_call_id or "tool", name=m.name)
            )
    return out


def _part(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image = part.image
    if isinstance(image, bytes):
        import base64

        image = "data:image/png;base64," + base64.b64encode(image).decode()
    return {"type": "image_url", "image_url": {"url": image}}

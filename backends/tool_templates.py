"""Tools and tool turns as a model's own chat template takes them (transformers'
``apply_chat_template(messages, tools=...)`` convention, which Qwen's templates and
GGUF templates follow), and the checks an in-process backend makes before it offers
tools to a model.

Shared by the transformers and llama.cpp backends; the output is parsed back by
:mod:`qwen_router.backends.tool_calls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qwen_router.errors import ModelCapabilityError
from qwen_router.types import Message, ToolSpec

from .control_tokens import escape_control_tokens
from .types import GenerateRequest

__all__ = [
    "check_tool_request",
    "template_messages",
    "template_takes_tools",
    "template_tools",
]


def template_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as chat templates read them: text content; an assistant turn's
    ``tool_calls`` as ``{"type": "function", "function": {"name", "arguments"}}``
    with arguments as an object (Qwen's templates ``tojson`` them); a tool turn's
    ``tool_call_id`` and ``name``."""
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {
            "role": m.role,
            "content": escape_control_tokens(m.text),
        }
        if m.tool_calls:
            item["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in m.tool_calls
            ]
        if m.tool_call_id is not None:
            item["tool_call_id"] = m.tool_call_id
        if m.name is not None:
            item["name"] = m.name
        out.append(item)
    return out


def template_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool definitions in the OpenAI shape the templates iterate over."""
    return [t.model_dump(exclude_none=True) for t in tools]


def template_takes_tools(template: str | None) -> bool:
    """Whether a chat template renders tool definitions at all."""
    return bool(template) and "tools" in str(template)


def check_tool_request(
    request: GenerateRequest, *, backend: str, template: str | None
) -> None:
    """Refuse, before generating, what an in-process model cannot do with tools.

    Raises:
        ModelCapabilityError: the model's chat template has no tool support, or the
            request demands a call (``tool_choice: required``), which nothing here
            can enforce.
    """
    if not request.tools:
        return
    if not template_takes_tools(template):
        raise ModelCapabilityError(
            f"model {request.model} has a chat template without tool support",
            hint="serve tool calls with a Qwen2.5 / Qwen3 instruct model",
            backend=backend,
            model=request.model,
        )
    if request.tool_choice == "required":
        raise ModelCapabilityError(
            f"tool_choice 'required' cannot be enforced on {backend} "
            "(no constrained decoding of tool calls)",
            hint="use tool_choice 'auto' or name the function, or an OpenAI-compatible server",
            backend=backend,
            model=request.model,
        )

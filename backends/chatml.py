"""Qwen's chat template as plain ChatML, for backends that take a raw prompt but do
not render the model's own template (Ollama's ``raw: true``)."""

from __future__ import annotations

from qwen_router.thinking import THINK_CLOSE, THINK_OPEN
from qwen_router.types import Message

from .control_tokens import escape_control_tokens

__all__ = ["render_chatml"]


def render_chatml(messages: list[Message], *, thinking: bool | None) -> str:
    """Qwen3's chat template as plain ChatML, ending with the generation prompt.

    Earlier assistant turns lose their thinking; tool results become user turns with
    ``<tool_response>``; ``thinking=False`` pre-fills an empty thought like
    ``enable_thinking=False`` does.

    Raises:
        Nothing.
    """
    parts: list[str] = []
    for message in messages:
        content = escape_control_tokens(message.text)
        if message.role == "assistant" and THINK_CLOSE in content:
            content = content.split(THINK_CLOSE)[-1].lstrip("\n")
        if message.role == "tool":
            parts.append(
                f"<|im_start|>user\n<tool_response>\n{content}\n</tool_response><|im_end|>\n"
            )
            continue
        parts.append(f"<|im_start|>{message.role}\n{content}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    if thinking is False:
        parts.append(f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n")
    return "".join(parts)

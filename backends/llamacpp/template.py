"""Rendering a GGUF's own chat template (metadata ``tokenizer.chat_template``).

The template runs in a sandboxed jinja2 environment set up the way transformers
sets up ``apply_chat_template`` (trim/lstrip blocks, ``raise_exception``,
``strftime_now``), so a GGUF renders the same prompt under llama.cpp as its
tokenizer does under transformers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from qwen_router.errors import ConfigError, InputError
from qwen_router.types import Message, ToolSpec

from ..tool_templates import template_messages, template_tools

__all__ = ["render_chat"]

_COMPILED: dict[str, Any] = {}
_LOCK = threading.Lock()


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _compiled(source: str) -> Any:
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    with _LOCK:
        if source not in _COMPILED:

            def raise_exception(message: str) -> None:
                raise TemplateError(message)

            env = ImmutableSandboxedEnvironment(
                trim_blocks=True,
                lstrip_blocks=True,
                extensions=["jinja2.ext.loopcontrols"],
            )
            env.globals["raise_exception"] = raise_exception
            env.globals["strftime_now"] = time.strftime
            # transformers' tojson: keys in order, not ASCII-escaped (jinja2's sorts
            # them), so a tool list renders exactly as apply_chat_template renders it
            env.filters["tojson"] = _tojson
            try:
                _COMPILED[source] = env.from_string(source)
            except TemplateError as exc:
                raise ConfigError(
                    f"the GGUF chat template does not compile: {exc}"
                ) from None
        return _COMPILED[source]


def render_chat(
    template: str | None,
    messages: list[Message],
    *,
    bos: str,
    eos: str,
    thinking: bool | None = None,
    source: str = "the GGUF",
    tools: Sequence[ToolSpec] = (),
) -> str:
    """``messages`` rendered by ``template`` with the generation prompt appended.

    ``thinking`` is passed as ``enable_thinking`` (Qwen3) when it is not ``None``;
    ``tools`` as ``tools`` (as transformers passes them), and tool turns as
    :func:`~qwen_router.backends.tool_templates.template_messages` shapes them.

    Raises:
        ConfigError: there is no template, or it does not compile.
        InputError: the template rejected the messages (``raise_exception``).
    """
    from jinja2 import TemplateError

    if not template:
        raise ConfigError(
            f"{source} has no chat template (tokenizer.chat_template)",
            hint="use an instruct/chat GGUF",
        )
    extra: dict[str, Any] = {"enable_thinking": thinking} if thinking is not None else {}
    if tools:
        extra["tools"] = template_tools(tools)
    try:
        return str(
            _compiled(template).render(
                messages=template_messages(messages),
                add_generation_prompt=True,
                bos_token=bos,
                eos_token=eos,
                **extra,
            )
        )
    except TemplateError as exc:
        raise InputError(f"the chat template rejected the messages: {exc}") from None

"""Tools and structured output on the wire: the request shapes both APIs send, their
conversion to internal types, and the tool-call shapes each answers with.

OpenAI: ``tools``, ``tool_choice``, ``parallel_tool_calls``, assistant ``tool_calls``
with ``function.arguments`` as JSON text, ``tool`` turns with ``tool_call_id``;
streamed calls as deltas (the first carries ``index``, ``id``, ``type`` and
``function.name``, the next ``index`` and ``function.arguments``).
Ollama: the same ``tools``; ``message.tool_calls[].function.arguments`` as an object,
no ids; ``tool`` turns with ``tool_name``; ``format`` as ``"json"`` or a schema.

Fields a client may send that change the answer and this server cannot honour are
refused with a 400 (:data:`REFUSED_OPENAI_FIELDS`), never dropped. Fields that do not
change the answer are accepted and ignored (:data:`IGNORED_OPENAI_FIELDS`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from qwen_router.errors import InputError
from qwen_router.types import NamedToolChoice, ToolCall, ToolChoice, ToolSpec

__all__ = [
    "IGNORED_OLLAMA_OPTIONS",
    "IGNORED_OPENAI_FIELDS",
    "REFUSED_OPENAI_FIELDS",
    "OllamaToolCall",
    "OpenAIFunctionCall",
    "OpenAITool",
    "OpenAIToolCall",
    "WireToolChoice",
    "ollama_format",
    "refuse_unknown",
    "ollama_tool_calls",
    "openai_tool_call_deltas",
    "openai_tool_calls",
    "refuse_unsupported",
    "to_tool_calls",
    "to_tool_choice",
    "to_tools",
    "tool_message_fields",
]

# Changes the answer; not supported: a 400 names the field.
REFUSED_OPENAI_FIELDS = {
    "functions": "use 'tools' (the legacy 'functions' field is not supported)",
    "function_call": "use 'tool_choice' (the legacy 'function_call' is not supported)",
    "logprobs": "log probabilities are not returned by this server",
    "top_logprobs": "log probabilities are not returned by this server",
    "logit_bias": "logit_bias is not supported",
    "frequency_penalty": "use presence_penalty or repetition_penalty",
    "audio": "audio output is not supported",
    "prediction": "predicted outputs are not supported",
    "web_search_options": "web search is not supported",
}
# Accepted and ignored, because they do not change what the model answers.
IGNORED_OPENAI_FIELDS = (
    "store",  # OpenAI-side storage of completions
    "metadata",  # OpenAI-side tags for stored completions
    "service_tier",  # OpenAI's capacity tiers
)
# Ollama options that size the runtime, not the answer: the operator's profile sets them.
IGNORED_OLLAMA_OPTIONS = (
    "num_thread", "num_gpu", "main_gpu", "num_batch", "use_mmap", "use_mlock",
    "low_vram", "numa", "f16_kv", "vocab_only",
)  # fmt: skip


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _FunctionDef(_Wire):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class OpenAITool(_Wire):
    """``{"type": "function", "function": {name, description, parameters}}`` (both APIs)."""

    type: Literal["function"] = "function"
    function: _FunctionDef


class OpenAIFunctionCall(_Wire):
    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] = "{}"


class OpenAIToolCall(_Wire):
    id: str | None = None
    type: Literal["function"] = "function"
    function: OpenAIFunctionCall


class _OllamaFunctionCall(_Wire):
    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class OllamaToolCall(_Wire):
    function: _OllamaFunctionCall


class _NamedChoice(_Wire):
    type: Literal["function"] = "function"
    function: dict[str, str]


WireToolChoice = Union[Literal["auto", "none", "required"], _NamedChoice]


def refuse_unsupported(extra: dict[str, Any] | None) -> None:
    """Refuse the fields of :data:`REFUSED_OPENAI_FIELDS` a client set.

    ``logprobs: false`` and empty values are not refusals.

    Raises:
        InputError: one of those fields is set.
    """
    for name, why in REFUSED_OPENAI_FIELDS.items():
        value = (extra or {}).get(name)
        if value not in (None, False, [], {}, 0):
            raise InputError(f"field {name!r} is not supported: {why}")


def refuse_unknown(
    extra: dict[str, Any] | None, ignored: Sequence[str], *, where: str = "field"
) -> None:
    """Refuse fields the wire model does not declare, unless ``ignored`` documents them.

    Raises:
        InputError: an undeclared field was sent.
    """
    unknown = sorted(set(extra or {}) - set(ignored))
    if unknown:
        names = ", ".join(repr(n) for n in unknown[:5])
        raise InputError(f"{where} {names} not supported by this server")


def to_tools(tools: Sequence[OpenAITool] | None) -> list[ToolSpec]:
    """Internal tool specs.

    Raises:
        InputError: a tool name the spec does not allow, or two tools of one name.
    """
    out: list[ToolSpec] = []
    for i, tool in enumerate(tools or []):
        fn = tool.function
        try:
            spec = ToolSpec.model_validate(
                {"function": fn.model_dump(exclude_none=True)}
            )
        except ValueError as exc:
            raise InputError(f"tools[{i}]: {_one_line(exc)}") from None
        out.append(spec)
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise InputError("tools: two tools have the same function name")
    return out


def to_tool_choice(
    choice: WireToolChoice | None, tools: Sequence[ToolSpec]
) -> ToolChoice | None:
    """The internal ``tool_choice``.

    Raises:
        InputError: it names a tool not in ``tools``, or asks for a call without tools.
    """
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice == "required" and not tools:
            raise InputError("tool_choice 'required' needs tools")
        return choice  # type: ignore[return-value]
    named = NamedToolChoice(function={"name": choice.function.get("name", "")})
    if named.name not in {t.name for t in tools}:
        raise InputError(f"tool_choice names {named.name!r}, which is not in tools")
    return named


def to_tool_calls(
    calls: Sequence[OpenAIToolCall | OllamaToolCall] | None, where: str
) -> list[ToolCall]:
    """An assistant turn's calls (OpenAI: arguments as JSON text; Ollama: an object).

    Raises:
        InputError: arguments that are not a JSON object.
    """
    out: list[ToolCall] = []
    for i, call in enumerate(calls or []):
        arguments = call.function.arguments
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                raise InputError(
                    f"{where} tool_calls[{i}]: arguments are not valid JSON"
                ) from None
        if not isinstance(arguments, dict):
            raise InputError(
                f"{where} tool_calls[{i}]: arguments must be a JSON object"
            )
        fields: dict[str, Any] = {"name": call.function.name, "arguments": arguments}
        if getattr(call, "id", None):
            fields["id"] = call.id  # type: ignore[union-attr]
        out.append(ToolCall(**fields))
    return out


def ollama_format(fmt: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """Ollama's ``format`` as a ``response_format``: ``"json"`` -> JSON object mode;
    a schema -> ``json_schema``; ``""`` / ``None`` -> plain text."""
    if fmt == "json":
        return {"type": "json_object"}
    if isinstance(fmt, dict):
        return {"type": "json_schema", "json_schema": {"name": "format", "schema": fmt}}
    return None


def openai_tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """``message.tool_calls`` of a chat completion."""
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments_json},
        }
        for c in calls
    ]


def openai_tool_call_deltas(calls: Sequence[ToolCall]) -> list[list[dict[str, Any]]]:
    """The ``delta.tool_calls`` of successive stream chunks: for each call, one delta
    with ``index``, ``id``, ``type``, ``function.name`` (and empty arguments), then
    one with ``index`` and the arguments' JSON text."""
    deltas: list[list[dict[str, Any]]] = []
    for index, c in enumerate(calls):
        deltas.append(
            [
                {
                    "index": index,
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": ""},
                }
            ]
        )
        deltas.append([{"index": index, "function": {"arguments": c.arguments_json}}])
    return deltas


def ollama_tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """``message.tool_calls`` of an Ollama chat answer (arguments as an object)."""
    return [
        {"function": {"index": i, "name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(calls)
    ]


def _one_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(exc)


def tool_message_fields(message: Any, where: str) -> dict[str, Any]:
    """The tool fields of one wire message, for ``Message(**fields)``: an assistant
    turn's ``tool_calls``; a tool turn's ``tool_call_id`` and ``name`` (Ollama:
    ``tool_name``).

    Raises:
        InputError: tool calls on a non-assistant turn, or arguments that are not a
            JSON object.
    """
    fields: dict[str, Any] = {}
    calls = getattr(message, "tool_calls", None)
    if calls:
        if message.role != "assistant":
            raise InputError(f"{where}: only assistant messages carry tool_calls")
        fields["tool_calls"] = to_tool_calls(calls, where)
    if message.role == "tool":
        call_id = getattr(message, "tool_call_id", None)
        if call_id:
            fields["tool_call_id"] = call_id
        name = getattr(message, "tool_name", None) or getattr(message, "name", None)
        if name:
            fields["name"] = name
    elif getattr(message, "tool_call_id", None):
        raise InputError(f"{where}: only tool messages carry tool_call_id")
    return fields

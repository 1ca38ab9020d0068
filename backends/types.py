"""The data a backend exchanges with the graph: requests, streamed chunks, results,
capabilities and health. Plain pydantic models; no behaviour."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from qwen_router.types import (
    GenerationParams,
    InvalidToolCall,
    Message,
    ToolCall,
    ToolChoice,
    ToolSpec,
    Usage,
)

__all__ = [
    "Capabilities",
    "Chunk",
    "GenerateRequest",
    "GenerateResult",
    "Health",
    "RawDelta",
]


class Capabilities(BaseModel):
    model_config = ConfigDict(frozen=True)
    vision: bool = False
    thinking: bool = False
    batching: bool = False
    streaming: bool = True
    json_schema: bool = False  # the engine constrains output to a JSON schema
    tools: bool = False  # takes tool definitions and returns tool calls
    tool_choice_required: bool = False  # can force a call (tool_choice "required")
    structured_output: str | None = None  # how JSON output is held: server / grammar
    in_process: bool = False  # the model runs in this process (its memory is ours)


class GenerateRequest(BaseModel):
    """What the graph asks a backend for: one chat completion."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model: str
    messages: list[Message]
    params: GenerationParams = Field(default_factory=GenerationParams)
    thinking: bool | None = None
    thinking_budget: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None


class GenerateResult(BaseModel):
    text: str
    thinking: str | None = None
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    model: str = ""
    backend: str = ""
    thinking_closed: bool = False
    budget_hit: bool = False
    thinking_method: str | None = None  # native | continuation | restart (budgeted only)
    load_ms: float = 0.0
    first_token_ms: float | None = None
    generate_ms: float = 0.0
    thinking_ms: float = 0.0
    # the server's own prompt-evaluation / generation split, when it reports one
    prefill_ms: float | None = None
    decode_ms: float | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = Field(default_factory=list)
    structured: str | None = None  # how output was held to a response_format


class Chunk(BaseModel):
    """One streamed piece. The last chunk has ``done=True`` and the full result.

    ``tool_calls`` holds the calls finished in this piece (whole calls, in order).
    """

    text: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    done: bool = False
    result: GenerateResult | None = None


class RawDelta(BaseModel):
    """What a backend implementation yields.

    ``text`` may contain think tags; ``thinking`` is for servers that split it
    themselves. ``tokens`` counts the tokens in this delta when the backend knows.
    The last delta may carry ``usage`` / ``finish_reason``. ``tool_calls``: calls a
    server already parsed (Ollama, OpenAI-compatible), whole.
    """

    text: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tokens: int = 0
    usage: Usage | None = None
    finish_reason: str | None = None


class Health(BaseModel):
    backend: str
    model: str
    available: bool
    detail: str = ""

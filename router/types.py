"""Core request / decision / result types shared by every layer.

Wire formats (OpenAI, Ollama) live in ``qwen_router.server.schemas``; these are the
internal types, normalised once on entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import InputError

__all__ = [
    "BUILTIN_ROUTES",
    "Category",
    "ContentPart",
    "GenerationParams",
    "ImagePart",
    "InvalidToolCall",
    "Message",
    "MessagesInput",
    "RouteDecision",
    "RouteRequest",
    "RouteResult",
    "TextPart",
    "ThinkingMode",
    "Timings",
    "ToolCall",
    "ToolChoice",
    "ToolFunction",
    "ToolSpec",
    "TraceEvent",
    "Usage",
    "Verification",
    "VerificationStatus",
    "NamedToolChoice",
    "normalize_messages",
]


class Category(str, Enum):
    """The built-in routes. Profiles may add their own route names."""

    GENERAL = "general"
    CODE = "code"
    MATH = "math"
    VISION = "vision"
    MULTILINGUAL = "multilingual"

    def __str__(self) -> str:
        return self.value


BUILTIN_ROUTES: tuple[str, ...] = tuple(c.value for c in Category)

ThinkingMode = Literal["off", "on", "auto"]
VerificationStatus = Literal["verified", "refuted", "unverifiable", "skipped"]
Role = Literal["system", "user", "assistant", "tool"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Model):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Model):
    """An image given as a file path, raw bytes, base64, a data URL or an http(s) URL.

    ``image`` may also be a PIL image on input; it is encoded to PNG bytes once.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    type: Literal["image"] = "image"
    image: Any

    @field_validator("image", mode="before")
    @classmethod
    def _pil_to_bytes(cls, value: Any) -> Any:
        if hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode"):
            import io

            buf = io.BytesIO()
            value.save(buf, format="PNG")
            return buf.getvalue()
        if not isinstance(value, (str, bytes)):
            raise ValueError("image must be a path, bytes, base64, data URL or PIL image")
        return value


ContentPart = Annotated[Union[TextPart, ImagePart], Field(discriminator="type")]


_TOOL_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"


class ToolFunction(_Model):
    """A function the model may call: a name, a description and a JSON schema."""

    name: str = Field(pattern=_TOOL_NAME)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool | None = None


class ToolSpec(_Model):
    """One tool, in OpenAI's shape: ``{"type": "function", "function": {...}}``."""

    type: Literal["function"] = "function"
    function: ToolFunction

    @property
    def name(self) -> str:
        return self.function.name


class ToolCall(_Model):
    """A call the model made: ``arguments`` is the parsed JSON object.

    Also accepts OpenAI's wire shape (``{"id", "type", "function": {"name",
    "arguments": "<JSON text>"}}``) and Ollama's (arguments as an object).
    """

    id: str = Field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _wire_shapes(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        data = dict(value)
        function = data.pop("function", None)
        data.pop("type", None)
        data.pop("index", None)
        if isinstance(function, Mapping):
            data.setdefault("name", function.get("name"))
            data.setdefault("arguments", function.get("arguments"))
        arguments = data.get("arguments")
        if isinstance(arguments, str):
            try:
                data["arguments"] = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                raise ValueError("tool call arguments must be a JSON object") from None
        elif arguments is None:
            data["arguments"] = {}
        if data.get("id") is None:
            data.pop("id", None)
        return data

    @property
    def arguments_json(self) -> str:
        """The arguments as OpenAI sends them: JSON text."""
        return json.dumps(self.arguments, ensure_ascii=False)


class InvalidToolCall(_Model):
    """Model output that looked like a tool call but did not parse."""

    name: str | None = None
    arguments: str = ""
    error: str


class NamedToolChoice(_Model):
    """``tool_choice`` naming one function (OpenAI: ``{"type": "function",
    "function": {"name": ...}}``)."""

    type: Literal["function"] = "function"
    function: dict[str, str]

    @property
    def name(self) -> str:
        return self.function.get("name", "")


ToolChoice = Union[Literal["auto", "none", "required"], NamedToolChoice]


class Message(_Model):
    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    # The route that produced this assistant turn (router.graph records it in
    # response_metadata["qwen_router"]["route"]); the classifier's prior for
    # follow-ups. Not sent to any model.
    route: str | None = None

    @model_validator(mode="after")
    def _tool_fields(self) -> Message:
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        if self.tool_call_id is not None and self.role != "tool":
            raise ValueError("only tool messages carry tool_call_id")
        return self

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> list[ImagePart]:
        if isinstance(self.content, str):
            return []
        return [p for p in self.content if isinstance(p, ImagePart)]


MessagesInput = Union[str, Sequence[Message], Sequence[Mapping[str, Any]]]


def _part_from_openai(part: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept OpenAI-style parts (``image_url``) as well as ours."""
    if part.get("type") == "image_url":
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        return {"type": "image", "image": url}
    return part


def normalize_messages(messages: MessagesInput) -> list[Message]:
    """Turn a string, dicts or ``Message`` objects into a validated message list.

    Raises:
        InputError: the input is empty or malformed.
    """
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    if isinstance(messages, Mapping) or not isinstance(messages, Sequence):
        raise InputError("messages must be a string or a list of messages")
    out: list[Message] = []
    for i, item in enumerate(messages):
        if isinstance(item, Message):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise InputError(f"message {i} must be a mapping with 'role' and 'content'")
        data = dict(item)
        if data.get("content") is None:  # OpenAI: an assistant turn with only tool_calls
            data["content"] = ""
        if isinstance(data.get("content"), list):
            data["content"] = [
                _part_from_openai(p) if isinstance(p, Mapping) else p
                for p in data["content"]
            ]
        images = data.pop("images", None)
        if images:
            text = data.get("content") or ""
            parts: list[Any] = [{"type": "text", "text": text}] if isinstance(text, str) else list(text)
            parts += [{"type": "image", "image": img} for img in images]
            data["content"] = parts
        try:
            out.append(Message.model_validate(data))
        except Exception as exc:  # pydantic.ValidationError, reworded for one line
            raise InputError(f"message {i} is invalid: {_first_error(exc)}") from None
    return out


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(exc)


class GenerationParams(_Model):
    """Sampling parameters. ``None`` means "use the backend's / model's default"."""

    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    seed: int | None = None
    stop: list[str] | None = None
    repetition_penalty: float | None = Field(default=None, gt=0)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    num_ctx: int | None = Field(default=None, ge=1)

    def merged(self, override: GenerationParams | None) -> GenerationParams:
        """This set with the non-``None`` fields of ``override`` on top."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class RouteRequest(_Model):
    """One routed request. Only ``messages`` is required."""

    messages: list[Message]
    route: str | None = None
    model: str | None = None
    params: GenerationParams | None = None
    thinking: bool | None = None
    thinking_budget: int | None = Field(default=None, ge=0)
    response_format: dict[str, Any] | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    # The classifier's decision when the caller already made it (the server plans each
    # request before answering): the graph then skips classification.
    decision: RouteDecision | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> RouteRequest:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice):
            if choice.name not in {t.name for t in self.tools}:
                raise ValueError(f"tool_choice names {choice.name!r}, which is not in tools")
        elif choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs tools")
        return self

    @property
    def offered_tools(self) -> list[ToolSpec]:
        """The tools the model may call on this turn (none for ``tool_choice: none``)."""
        if self.tool_choice == "none":
            return []
        if isinstance(self.tool_choice, NamedToolChoice):
            return [t for t in self.tools if t.name == self.tool_choice.name]
        return list(self.tools)


class RouteDecision(_Model):
    """Where a request goes and why."""

    route: str
    confidence: float = Field(ge=0, le=1)
    scores: dict[str, float] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    lang: str | None = None
    signals: list[str] = Field(default_factory=list)
    stage: str = "rules"
    forced: bool = False
    difficulty: float | None = None


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0
    estimated: bool = False  # counted locally: the server reported no usage
    # process memory over the call, in-process backends only (see
    # qwen_router.observability.resources for how each is taken); None: not measured
    rss_delta_bytes: int | None = None
    rss_peak_bytes: int | None = None
    cuda_peak_bytes: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            estimated=self.estimated or other.estimated,
            rss_delta_bytes=_combine(self.rss_delta_bytes, other.rss_delta_bytes, sum),
            rss_peak_bytes=_combine(self.rss_peak_bytes, other.rss_peak_bytes, max),
            cuda_peak_bytes=_combine(self.cuda_peak_bytes, other.cuda_peak_bytes, max),
        )


def _combine(a: int | None, b: int | None, how: Any) -> int | None:
    values = [v for v in (a, b) if v is not None]
    return int(how(values)) if values else None


class Timings(_Model):
    """Milliseconds spent per phase of one request."""

    model_config = ConfigDict(extra="allow")
    total_ms: float = 0.0
    classify_ms: float = 0.0
    load_ms: float = 0.0
    first_token_ms: float | None = None
    generate_ms: float = 0.0
    thinking_ms: float = 0.0
    verify_ms: float = 0.0
    queue_ms: float = 0.0  # waiting for a backend slot (the server's gate)
    # the answering generation's throughput (qwen_router.observability.throughput)
    prefill_ms: float | None = None
    decode_ms: float | None = None
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    tokens_per_s: float | None = None
    throughput_source: str | None = None  # "server" | "measured"


class Verification(_Model):
    """What a verifier tool concluded about an answer."""

    status: VerificationStatus
    verifier: str = "math"
    extracted: str | None = None
    expected: str | None = None
    explanation: str = ""
    method: str | None = None


class TraceEvent(_Model):
    node: str
    ms: float = 0.0
    detail: dict[str, Any] = Field(default_factory=dict)


class RouteResult(_Model):
    """The answer, and everything about how it was produced."""

    answer: str
    thinking: str | None = None
    decision: RouteDecision
    model: str
    backend: str
    verification: Verification | None = None
    usage: Usage = Field(default_factory=Usage)
    timings: Timings = Field(default_factory=Timings)
    trace: list[TraceEvent] = Field(default_factory=list)
    finish_reason: str | None = None
    thinking_budget_hit: bool = False
    thinking_method: str | None = None  # native | continuation | restart
    repairs: int = 0
    tool_calls: list[ToolCall] = Field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = Field(default_factory=list)
    # how the answer was held to the response_format: server, grammar or instructed
    structured: str | None = None

    @property
    def route(self) -> str:
        return self.decision.route

    def summary(self) -> dict[str, Any]:
        """The flat JSON shape printed by ``qwen-router ask --json``."""
        return {
            "answer": self.answer,
            "route": self.decision.route,
            "confidence": self.decision.confidence,
            "labels": self.decision.labels,
            "lang": self.decision.lang,
            "model": self.model,
            "backend": self.backend,
            "thinking": self.thinking,
            "verification": self.verification.model_dump() if self.verification else None,
            "usage": {**self.usage.model_dump(), "total_tokens": self.usage.total_tokens},
            "timings": self.timings.model_dump(),
            "trace": [e.model_dump() for e in self.trace],
            "finish_reason": self.finish_reason,
            "thinking_budget_hit": self.thinking_budget_hit,
            "thinking_method": self.thinking_method,
            "repairs": self.repairs,
            "tool_calls": [c.model_dump() for c in self.tool_calls],
            "invalid_tool_calls": [c.model_dump() for c in self.invalid_tool_calls],
            "structured": self.structured,
            "decision": self.decision.model_dump(),
        }

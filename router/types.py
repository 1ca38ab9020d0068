"""Core request / decision / result types shared by every layer.

Wire formats (OpenAI, Ollama) live in ``qwen_router.server.schemas``; these are the
internal types, normalised once on entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import InputError

__all__ = [
    "BUILTIN_ROUTES",
    "Category",
    "ContentPart",
    "GenerationParams",
    "ImagePart",
    "Message",
    "MessagesInput",
    "RouteDecision",
    "RouteRequest",
    "RouteResult",
    "TextPart",
    "ThinkingMode",
    "Timings",
    "TraceEvent",
    "Usage",
    "Verification",
    "VerificationStatus",
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


class Message(_Model):
    role: Role
    content: str | list[ContentPart] = ""

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
    metadata: dict[str, Any] = Field(default_factory=dict)


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

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
        )


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
    repairs: int = 0

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
            "repairs": self.repairs,
            "decision": self.decision.model_dump(),
        }

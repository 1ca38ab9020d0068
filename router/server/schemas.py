"""Wire models of the two HTTP APIs: OpenAI chat completions and Ollama's ``/api/*``.

These are the shapes clients send and receive; the internal types live in
``qwen_router.types``. Requests accept (and ignore) fields this server does not use,
so that existing clients work unchanged. Conversion to a ``RouteRequest`` happens in
the route handlers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "ChatTemplateKwargs",
    "OllamaBaseRequest",
    "ImageUrl",
    "ImageUrlPart",
    "OllamaChatRequest",
    "OllamaGenerateRequest",
    "OllamaMessage",
    "OllamaOptions",
    "OllamaShowRequest",
    "OpenAIMessage",
    "StreamOptions",
    "TextContentPart",
]


class _Wire(BaseModel):
    """Lenient on unknown fields: clients send many this server does not use."""

    model_config = ConfigDict(extra="ignore")


# --- OpenAI ---------------------------------------------------------------------------
class TextContentPart(_Wire):
    type: Literal["text"]
    text: str


class ImageUrl(_Wire):
    url: str = Field(
        description="a data: URL (base64), or http(s) when the server allows"
    )
    detail: str | None = None


class ImageUrlPart(_Wire):
    type: Literal["image_url"]
    image_url: ImageUrl


OpenAIContentPart = Annotated[
    Union[TextContentPart, ImageUrlPart], Field(discriminator="type")
]


class OpenAIMessage(_Wire):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[OpenAIContentPart] | None = None
    name: str | None = None


class StreamOptions(_Wire):
    include_usage: bool = False


class ChatTemplateKwargs(_Wire):
    enable_thinking: bool | None = None


class ChatCompletionRequest(_Wire):
    """``POST /v1/chat/completions``. ``model``: ``auto``, ``auto:ROUTE`` or a model."""

    model: str = Field(min_length=1, max_length=512, examples=["auto", "auto:math"])
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1, le=1, description="only 1 is supported")
    response_format: dict[str, Any] | None = None
    thinking_budget: int | None = Field(
        default=None, ge=0, description="extra field: cap on thinking tokens (Qwen3)"
    )
    chat_template_kwargs: ChatTemplateKwargs | None = Field(
        default=None, description="extra field: {'enable_thinking': bool}, as in vLLM"
    )
    user: str | None = None


# --- Ollama ---------------------------------------------------------------------------
class OllamaOptions(_Wire):
    num_predict: int | None = None
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    seed: int | None = None
    stop: list[str] | None = None
    num_ctx: int | None = Field(default=None, ge=1)
    repeat_penalty: float | None = Field(default=None, gt=0)


class OllamaMessage(_Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    thinking: str | None = None
    images: list[str] | None = Field(default=None, description="base64-encoded images")


ThinkOption = Union[bool, Literal["low", "medium", "high"], None]


class OllamaBaseRequest(_Wire):
    model: str = Field(min_length=1, max_length=512, examples=["auto", "auto:code"])
    stream: bool = True
    think: ThinkOption = None
    format: Union[Literal["json", ""], dict[str, Any], None] = None
    options: OllamaOptions | None = None
    keep_alive: Union[str, float, None] = None


class OllamaChatRequest(OllamaBaseRequest):
    """``POST /api/chat``."""

    messages: list[OllamaMessage] = Field(default_factory=list)


class OllamaGenerateRequest(OllamaBaseRequest):
    """``POST /api/generate``. An empty ``prompt`` only loads the model (as Ollama)."""

    prompt: str = ""
    system: str | None = None
    images: list[str] | None = None
    raw: bool | None = None


class OllamaShowRequest(_Wire):
    """``POST /api/show`` (``name`` is the older spelling of ``model``)."""

    model: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=512)
    verbose: bool | None = None

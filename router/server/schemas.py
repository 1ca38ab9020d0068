"""Wire models of the two HTTP APIs: OpenAI chat completions and Ollama's ``/api/*``.

These are the shapes clients send and receive; the internal types live in
``qwen_router.types``. Requests accept (and ignore) fields this server does not use,
so that existing clients work unchanged. Conversion to a ``RouteRequest`` happens in
the route handlers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .tools_wire import OllamaToolCall, OpenAITool, OpenAIToolCall, WireToolChoice

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
    "Text",
    "TextContentPart",
]

# Bounds checked here, at the API boundary, so that no backend sees them: a seed must
# fit the 64-bit integer every runtime takes, and sampling values must be finite and
# keep the probabilities finite (a repeat penalty of 1e-300 divides logits into inf).
def _seed() -> Any:
    return Field(default=None, ge=-(2**63), le=2**63 - 1)


def _repeat_penalty() -> Any:
    return Field(default=None, ge=0.01, le=100)


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (a lone surrogate was sent)") from None
    return value


Text = Annotated[str, AfterValidator(_no_surrogates)]


class _Wire(BaseModel):
    """Lenient on unknown fields: clients send many this server does not use. Floats
    must be finite (JSON's ``Infinity`` / ``NaN`` extensions are refused)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


# --- OpenAI ---------------------------------------------------------------------------
class TextContentPart(_Wire):
    type: Literal["text"]
    text: Text


class ImageUrl(_Wire):
    url: Text = Field(
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
    content: Text | list[OpenAIContentPart] | None = None
    name: Text | None = None
    tool_calls: list[OpenAIToolCall] | None = None
    tool_call_id: Text | None = None


class StreamOptions(_Wire):
    include_usage: bool = False


class ChatTemplateKwargs(_Wire):
    enable_thinking: bool | None = None


class ChatCompletionRequest(_Wire):
    """``POST /v1/chat/completions``. ``model``: ``auto``, ``auto:ROUTE`` or a model.

    Undeclared fields are kept (``model_extra``) so that the endpoint can refuse them,
    unless they are in ``tools_wire.IGNORED_OPENAI_FIELDS``: nothing is dropped silently.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    model: Text = Field(min_length=1, max_length=512, examples=["auto", "auto:math"])
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(
        default=None, ge=-1, le=1_000_000, description="extra field, as in vLLM; -1: off"
    )
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: float | None = _repeat_penalty()
    stop: Text | list[Text] | None = None
    seed: int | None = _seed()
    n: int | None = Field(default=None, ge=1, le=1, description="only 1 is supported")
    response_format: dict[str, Any] | None = None
    tools: list[OpenAITool] | None = None
    tool_choice: WireToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # Declared so that they are refused with a 400, not dropped (tools_wire.REFUSED_OPENAI_FIELDS)
    functions: list[Any] | None = None
    function_call: Any = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, Any] | None = None
    audio: Any = None
    prediction: Any = None
    web_search_options: Any = None
    thinking_budget: int | None = Field(
        default=None, ge=0, description="extra field: cap on thinking tokens (Qwen3)"
    )
    chat_template_kwargs: ChatTemplateKwargs | None = Field(
        default=None, description="extra field: {'enable_thinking': bool}, as in vLLM"
    )
    user: str | None = None


# --- Ollama ---------------------------------------------------------------------------
class OllamaOptions(_Wire):
    """Ollama's ``options``. Undeclared ones are kept (``model_extra``) so that the
    endpoint refuses them, unless ``tools_wire.IGNORED_OLLAMA_OPTIONS`` lists them."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    num_predict: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=100)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0, le=1_000_000)
    seed: int | None = _seed()
    stop: list[Text] | None = None
    num_ctx: int | None = Field(default=None, ge=1, le=10_000_000)
    repeat_penalty: float | None = _repeat_penalty()
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)


class OllamaMessage(_Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: Text = ""
    thinking: Text | None = None
    images: list[str] | None = Field(default=None, description="base64-encoded images")
    tool_calls: list[OllamaToolCall] | None = None
    tool_name: Text | None = None


ThinkOption = Union[bool, Literal["low", "medium", "high"], None]


class OllamaBaseRequest(_Wire):
    model: Text = Field(min_length=1, max_length=512, examples=["auto", "auto:code"])
    stream: bool = True
    think: ThinkOption = None
    format: Union[Literal["json", ""], dict[str, Any], None] = None
    options: OllamaOptions | None = None
    keep_alive: Union[str, float, None] = None


class OllamaChatRequest(OllamaBaseRequest):
    """``POST /api/chat``."""

    messages: list[OllamaMessage] = Field(default_factory=list)
    tools: list[OpenAITool] | None = None


class OllamaGenerateRequest(OllamaBaseRequest):
    """``POST /api/generate``. An empty ``prompt`` only loads the model (as Ollama)."""

    prompt: Text = ""
    system: Text | None = None
    images: list[str] | None = None
    raw: bool | None = None


class OllamaShowRequest(_Wire):
    """``POST /api/show`` (``name`` is the older spelling of ``model``)."""

    model: Text | None = Field(default=None, max_length=512)
    name: Text | None = Field(default=None, max_length=512)
    verbose: bool | None = None

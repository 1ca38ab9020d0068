"""Typed response models of the two HTTP APIs, as the OpenAPI spec declares them.

Handlers build these and serialise them with :func:`dump` (or answer with
:func:`model_response`), which leaves out the
optional fields that were not set (so ``reasoning_content`` or Ollama's ``thinking``
appear only when there is some), while fields set to ``None`` on purpose
(``logprobs``, ``finish_reason`` of a middle chunk) stay ``null`` as the APIs have them.

Message models allow extra fields so that tool calls (and other additions) can be
added without breaking these shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

__all__ = [
    "STREAM_MODELS",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChunkChoice",
    "ChunkDelta",
    "CompletionUsage",
    "Health",
    "ModelCard",
    "ModelCardInfo",
    "ModelList",
    "OllamaChatResponse",
    "OllamaDetails",
    "OllamaError",
    "OllamaGenerateResponse",
    "OllamaModel",
    "OllamaPs",
    "OllamaResponseMessage",
    "OllamaShowResponse",
    "OllamaStreamError",
    "OllamaTags",
    "OllamaVersion",
    "OpenAIError",
    "OpenAIErrorBody",
    "Readiness",
    "RouteHealth",
    "RouterMetadata",
    "TokenDetails",
    "dump",
    "dump_json",
    "model_response",
]


class _Always(BaseModel):
    """``ALWAYS``: fields with a default that the wire always carries."""

    ALWAYS: ClassVar[tuple[str, ...]] = ()

    def model_post_init(self, context: Any) -> None:
        self.__pydantic_fields_set__.update(self.ALWAYS)


class _Out(_Always):
    model_config = ConfigDict(extra="forbid")


class _Open(_Always):
    model_config = ConfigDict(extra="allow")


def dump(model: BaseModel) -> dict[str, Any]:
    """The wire dict of ``model``: unset optional fields left out."""
    return model.model_dump(mode="json", exclude_unset=True)


def dump_json(model: BaseModel) -> str:
    """:func:`dump` as compact JSON text (UTF-8, not ASCII-escaped)."""
    return model.model_dump_json(exclude_unset=True)


def model_response(
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``model`` as a JSON response, serialised once by pydantic (:func:`dump_json`).

    ``JSONResponse(dump(model))`` builds the wire dict and then encodes it again with
    the standard library's ``json``, which costs about three times as much.
    """
    return Response(
        dump_json(model),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


class RouterMetadata(_Open):
    """The ``qwen_router`` field: how the request was routed (and answered)."""

    ALWAYS = ("labels", "lang", "forced", "request_id")

    route: str
    model: str
    backend: str
    confidence: float
    stage: str
    labels: list[str] = []
    lang: str | None = None
    forced: bool = False
    request_id: str | None = None
    verification: dict[str, Any] | None = None
    thinking_budget_hit: bool | None = None
    repairs: int | None = None
    timings: dict[str, float] | None = None
    answer: str | None = None


# --- OpenAI ---------------------------------------------------------------------------
class TokenDetails(_Out):
    ALWAYS = ("reasoning_tokens",)

    reasoning_tokens: int = 0


class CompletionUsage(_Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: TokenDetails | None = None


class ChatCompletionMessage(_Open):
    ALWAYS = ("role", "content")

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    reasoning_content: str | None = None


class ChatCompletionChoice(_Out):
    ALWAYS = ("index", "finish_reason", "logprobs")

    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletion(_Out):
    """``POST /v1/chat/completions`` without ``stream``."""

    ALWAYS = ("object",)

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatCompletionChoice]
    usage: CompletionUsage
    qwen_router: RouterMetadata | None = None


class ChunkDelta(_Open):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None


class ChunkChoice(_Out):
    ALWAYS = ("index", "finish_reason", "logprobs")

    index: int = 0
    delta: ChunkDelta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(_Out):
    """One ``data:`` event of a streamed chat completion."""

    ALWAYS = ("object",)

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    qwen_router: RouterMetadata | None = None


class ModelCardInfo(_Out):
    ALWAYS = ("route", "model")

    kind: str
    route: str | None = None
    model: str | None = None


class ModelCard(_Out):
    ALWAYS = ("object", "created", "owned_by")

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "qwen-router"
    qwen_router: ModelCardInfo | None = None


class ModelList(_Out):
    """``GET /v1/models``."""

    ALWAYS = ("object",)

    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorBody(_Out):
    ALWAYS = ("param", "code")

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(_Out):
    """Every OpenAI-side error (and a stream's error event)."""

    error: OpenAIErrorBody


# --- Ollama ---------------------------------------------------------------------------
class OllamaResponseMessage(_Open):
    ALWAYS = ("role", "content")

    role: Literal["assistant"] = "assistant"
    content: str = ""
    thinking: str | None = None


class _OllamaAnswer(_Out):
    model: str
    created_at: str
    done: bool
    done_reason: str | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    qwen_router: RouterMetadata | None = None


class OllamaChatResponse(_OllamaAnswer):
    """``POST /api/chat``: the answer, or one NDJSON line of the stream."""

    message: OllamaResponseMessage


class OllamaGenerateResponse(_OllamaAnswer):
    """``POST /api/generate``: the answer, or one NDJSON line of the stream."""

    ALWAYS = ("response",)

    response: str = ""
    thinking: str | None = None


class OllamaStreamError(_Out):
    """The last NDJSON line of a stream that failed after it started."""

    error: str
    status: int | None = None


class OllamaDetails(_Out):
    ALWAYS = ("format", "family", "families", "parameter_size", "quantization_level")

    format: str = "qwen-router"
    family: str = "qwen-router"
    families: list[str] = ["qwen-router"]
    parameter_size: str = ""
    quantization_level: str = ""


class OllamaModel(_Out):
    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: OllamaDetails


class OllamaTags(_Out):
    """``GET /api/tags``."""

    models: list[OllamaModel]


class OllamaShowResponse(_Out):
    """``POST /api/show``."""

    modelfile: str
    parameters: str
    template: str
    details: OllamaDetails
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str


class OllamaPs(_Out):
    """``GET /api/ps``."""

    models: list[dict[str, Any]]


class OllamaVersion(_Out):
    """``GET /api/version``."""

    version: str


class OllamaError(_Out):
    """Every Ollama-side error."""

    error: str


# --- operations -----------------------------------------------------------------------
class Health(_Out):
    """``GET /healthz``."""

    status: str


class RouteHealth(_Open):
    route: str
    available: bool


class Readiness(_Out):
    """``GET /readyz``: 200 when ready, else 503 with the same shape."""

    status: str
    routes: list[RouteHealth] | None = None


# Models that appear only inside streams; app.py adds them to the spec's components.
STREAM_MODELS: tuple[type[BaseModel], ...] = (ChatCompletionChunk, OllamaStreamError)

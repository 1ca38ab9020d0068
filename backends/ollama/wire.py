"""Pure conversions between qwen-router's types and Ollama's wire shapes, and the
assembly of Ollama's replies into chunks.

No I/O here: the sync and async paths of :mod:`qwen_router.backends.ollama` share
every request builder, response reader and assembler, and differ only in the call.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwen_router.errors import ImageError
from qwen_router.types import GenerationParams, ImagePart, Message, ToolCall, Usage

from ..streaming import acollect_stream, collect_stream
from ..tool_calls import new_call_id
from ..types import Chunk, GenerateResult, RawDelta

__all__ = [
    "ServerStats",
    "acollect",
    "collect",
    "display_host",
    "is_installed",
    "format_from",
    "image_b64",
    "options_from",
    "read_part",
    "read_tool_calls",
    "to_ollama_messages",
]

_NS_PER_MS = 1_000_000


def image_b64(value: Any) -> str:
    """An image (path, raw bytes, base64 or data URL) as the base64 text Ollama takes.

    Raises:
        ImageError: an http(s) URL, a missing file, or text that is not base64.
    """
    if isinstance(value, ImagePart):
        value = value.image
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if not isinstance(value, str):
        raise ImageError(f"unsupported image value of type {type(value).__name__}")
    text = value.strip()
    if text.startswith(("http://", "https://")):
        raise ImageError(
            "Ollama does not fetch image URLs",
            hint="download the image and pass its bytes",
        )
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        if ";base64" not in header:
            raise ImageError("image data URL is not base64-encoded")
        return _checked_b64(payload)
    if len(text) < 4096 and "\n" not in text:
        try:
            path = Path(text).expanduser()
            if path.is_file():
                return base64.b64encode(path.read_bytes()).decode()
            suffix = path.suffix.lower()
        except (OSError, ValueError, RuntimeError):
            suffix = ""
        if suffix in (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"):
            raise ImageError(f"image file not found: {text}")
    return _checked_b64(text)


def _checked_b64(text: str) -> str:
    compact = "".join(text.split())
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("image is neither a readable file nor valid base64") from None
    return compact


def to_ollama_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Chat messages as ``/api/chat`` takes them (text content, base64 ``images``).

    Raises:
        ImageError: an image part that cannot be encoded.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message.role, "content": message.text}
        images = [image_b64(part.image) for part in message.images]
        if images:
            item["images"] = images
        if message.tool_calls:  # Ollama: arguments as an object, no ids
            item["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        if message.role == "tool" and message.name:
            item["tool_name"] = message.name
        out.append(item)
    return out


def read_tool_calls(message: Any) -> list[ToolCall]:
    """The tool calls on an Ollama reply message, each given a fresh id (Ollama
    sends none)."""
    calls: list[ToolCall] = []
    for call in getattr(message, "tool_calls", None) or []:
        function = call.function
        calls.append(
            ToolCall(
                id=new_call_id(),
                name=function.name,
                arguments=dict(function.arguments or {}),
            )
        )
    return calls


def options_from(
    params: GenerationParams, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Ollama ``options`` from sampling parameters, over the profile's defaults."""
    options: dict[str, Any] = dict(defaults or {})
    mapped = {
        "num_predict": params.max_tokens,
        "num_ctx": params.num_ctx,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "seed": params.seed,
        "stop": params.stop,
        "repeat_penalty": params.repetition_penalty,
        "presence_penalty": params.presence_penalty,
    }
    options.update({k: v for k, v in mapped.items() if v is not None})
    return options


def format_from(
    response_format: Mapping[str, Any] | None,
) -> str | dict[str, Any] | None:
    """Ollama ``format``: a JSON schema, ``"json"``, or nothing.

    Accepts a bare JSON schema, or OpenAI's ``{"type": "json_object"}`` /
    ``{"type": "json_schema", "json_schema": {"schema": ...}}`` shapes.
    """
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema" and isinstance(
        response_format.get("json_schema"), Mapping
    ):
        schema = response_format["json_schema"].get("schema")
        return dict(schema) if isinstance(schema, Mapping) else "json"
    if kind == "text":
        return None
    return dict(response_format)


@dataclass
class ServerStats:
    """What Ollama's final chunk reports, kept to patch the result's timings."""

    load_ms: float | None = None
    generate_ms: float | None = None
    prefill_ms: float | None = None
    decode_ms: float | None = None

    def apply(self, result: GenerateResult) -> GenerateResult:
        update: dict[str, Any] = {}
        if self.load_ms is not None:
            update["load_ms"] = self.load_ms
        if self.generate_ms is not None:
            update["generate_ms"] = self.generate_ms
        if self.prefill_ms is not None and self.decode_ms is not None:
            update.update(prefill_ms=self.prefill_ms, decode_ms=self.decode_ms)
        return result.model_copy(update=update) if update else result


def read_part(part: Any, stats: ServerStats) -> RawDelta:
    """One ``ChatResponse`` / ``GenerateResponse`` as a RawDelta; the final one adds
    usage and finish reason, and fills ``stats`` with the server's durations."""
    message = getattr(part, "message", None)
    calls: list[ToolCall] = []
    if message is not None:
        text, thinking = message.content or "", message.thinking or ""
        calls = read_tool_calls(message)
    else:
        text, thinking = part.response or "", part.thinking or ""
    if not part.done:  # a streamed piece: Ollama sends about one token per chunk
        tokens = 1 if (text or thinking) else 0
        return RawDelta(text=text, thinking=thinking, tokens=tokens, tool_calls=calls)
    usage = None
    if part.prompt_eval_count is not None or part.eval_count is not None:
        usage = Usage(
            prompt_tokens=part.prompt_eval_count or 0,
            completion_tokens=part.eval_count or 0,
        )
    if part.load_duration is not None:
        stats.load_ms = part.load_duration / _NS_PER_MS
    evals = [
        d for d in (part.prompt_eval_duration, part.eval_duration) if d is not None
    ]
    if evals:
        stats.generate_ms = sum(evals) / _NS_PER_MS
    if part.prompt_eval_duration is not None and part.eval_duration is not None:
        stats.prefill_ms = part.prompt_eval_duration / _NS_PER_MS
        stats.decode_ms = part.eval_duration / _NS_PER_MS
    return RawDelta(  # the counters below replace any per-chunk estimate
        text=text,
        thinking=thinking,
        tool_calls=calls,
        usage=usage,
        finish_reason=_finish(part.done_reason),
    )


def _finish(reason: str | None) -> str:
    if reason in (None, "", "stop", "unload"):
        return "stop"
    return reason


def collect(
    backend: str,
    model: str,
    deltas: Iterable[RawDelta],
    stats: ServerStats,
    *,
    in_thinking: bool = False,
) -> Iterator[Chunk]:
    """Chunks from deltas (the shared collector); the final chunk's result carries the
    server's own load / generation times."""
    return collect_stream(backend, model, deltas, in_thinking=in_thinking, on_result=stats.apply)


def acollect(
    backend: str,
    model: str,
    deltas: AsyncIterator[RawDelta],
    stats: ServerStats,
    *,
    in_thinking: bool = False,
) -> AsyncIterator[Chunk]:
    """Async twin of :func:`collect`."""
    return acollect_stream(
        backend, model, deltas, in_thinking=in_thinking, on_result=stats.apply
    )


def is_installed(model: str, names: list[str]) -> bool:
    """Whether ``model`` is in ``/api/tags`` (a bare name means ``:latest``)."""
    wanted = {model} if ":" in model else {model, f"{model}:latest"}
    return any(name in wanted for name in names)


def display_host(host: str) -> str:
    """The host as a URL for messages (the client resolves the default port itself)."""
    host = host.strip().rstrip("/")
    return host if "://" in host else f"http://{host}"

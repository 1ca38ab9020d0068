"""A small OpenAI-compatible server on loopback that answers with a real (tiny) model.

It speaks what the OpenAI-compatible backend uses, the way vLLM does:
``POST /v1/chat/completions`` (streaming as SSE ``data:`` events ending with
``data: [DONE]``, the usage chunk with empty ``choices`` when
``stream_options.include_usage`` is set; or one JSON completion) and ``GET /v1/models``.
Like vLLM it takes ``chat_template_kwargs`` (passed to the chat template),
``continue_final_message`` / ``add_generation_prompt``, and ``top_k`` /
``repetition_penalty`` in the body. For a thinking model it acts as vLLM's reasoning
parser: the thought goes out as ``reasoning_content`` (or ``reasoning``) deltas.
Errors use OpenAI's body ``{"error": {"message", "type", "param", "code"}}``.

Generation goes through qwen-router's transformers backend on tiny random Qwen models,
so tokens, templates and the thinking split are real. :class:`Faults` makes it fail
with a status, stall, cut the connection mid-stream, send an error event mid-stream,
or demand an API key. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_router.backends.hf import HFBackend
from qwen_router.backends.tool_calls import ToolCallStream, parse_tool_calls
from qwen_router.thinking import THINK_CLOSE, THINK_OPEN, ThinkSplitter
from qwen_router.types import GenerationParams

from .forcing import forced_output
from .loopback import (
    JSONHandler,
    LoopbackServer,
    chat_prompt,
    cut,
    stream_text,
    tiny_backend,
)

__all__ = ["Faults", "OpenAITestServer", "Recorded", "ServedModel"]

DEFAULT_MAX_TOKENS = 16  # vLLM: up to the context length; small here to keep tests fast
_STATUS_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


@dataclass
class ServedModel:
    """One model id the server answers for, backed by a tiny model folder."""

    path: str
    thinking: bool = False  # run the reasoning parser (Qwen3)


@dataclass
class Faults:
    """Fault injection, read on every request. Set attributes from the test."""

    fail_status: int | None = None  # answer with this status...
    fail_count: int = 1_000_000  # ...this many times (then behave again)
    stall_s: float = 0.0  # wait before answering, then close without a reply
    drop_after: int | None = None  # stream this many deltas, then cut the connection
    error_after: int | None = None  # stream this many deltas, then a data: {"error"}
    garbage_after: int | None = None  # this many deltas, then a data: [1, 2]
    hold_after_done_s: float = 0.0  # after data: [DONE], keep the body open this long
    api_key: str | None = None  # demand ``Authorization: Bearer <api_key>``
    reasoning_field: str = "reasoning_content"  # newer vLLM: "reasoning"
    ignore_continue: bool = False  # llama-cpp-python: a fresh reply, never a continuation
    omit_usage: bool = False  # never send usage, even when include_usage is asked
    usage: Any = None  # sent instead of the real usage object (a broken server's)
    # texts the model is made to generate (tool calls included), one per chat request;
    # with ``tools`` in the request they are parsed as vLLM's hermes parser does
    say: list[str] = field(default_factory=list)


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    prompt: str = ""  # the rendered prompt, for chat completions
    images: list[bytes] = field(default_factory=list)


class OpenAITestServer(LoopbackServer):
    """Run on a free port in a background thread; ``stop()`` drops every connection."""

    def __init__(self, models: dict[str, ServedModel]) -> None:
        super().__init__(_Handler)
        self.models = models
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.backend = tiny_backend()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def reset(self) -> None:
        """Clear faults and records; wake any stalled request."""
        self._wake.set()
        self._wake = threading.Event()
        self.faults = Faults()
        self.requests.clear()


class _Handler(JSONHandler):
    app: OpenAITestServer

    # --- framing -----------------------------------------------------------------
    def _error(self, status: int, message: str) -> None:
        kind = _STATUS_TYPES.get(status, "APIError")
        error = {"message": message, "type": kind, "param": None, "code": status}
        self._json(status, {"error": error})

    def _event(self, obj: dict[str, Any] | list[Any] | str) -> None:
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        self._chunk(f"data: {payload}\n\n".encode())

    # --- routes ------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        if not self._before({}):
            return
        if self.path == "/v1/models":
            data = [
                {"id": n, "object": "model", "created": 0, "owned_by": "test"}
                for n in self.app.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = self._read_json()
        except json.JSONDecodeError:
            self._error(400, "invalid JSON body")
            return
        if not self._before(body):
            return
        if self.path != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        try:
            self._chat(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _before(self, body: dict[str, Any]) -> bool:
        """Record the request and apply the auth / stall / failure faults."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.app.requests.append(Recorded(self.path, body, headers))
        faults = self.app.faults
        if (
            faults.api_key
            and headers.get("authorization") != f"Bearer {faults.api_key}"
        ):
            self._error(401, "Unauthorized")
            return False
        if faults.stall_s:
            self.app.stall(faults.stall_s)
            self.close_connection = True
            return False
        status = self.app.take_failure()
        if status is not None:
            self._error(status, f"injected failure {status}")
            return False
        return True

    # --- chat completions -----------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> None:
        name = body.get("model") or ""
        model = self.app.models.get(name)
        if model is None:
            self._error(404, f"The model `{name}` does not exist.")
            return
        record = self.app.requests[-1]
        messages = []
        for m in body.get("messages") or []:
            text = _flatten(m.get("content"), record.images)
            if text is None:
                self._error(400, "image_url must be a base64 data URL here")
                return
            messages.append(_template_message(m, text))
        continuing = bool(body.get("continue_final_message"))
        continuing = continuing and not self.app.faults.ignore_continue
        if continuing and body.get("add_generation_prompt", True):
            self._error(
                400,
                "Cannot set both `continue_final_message` and "
                "`add_generation_prompt` to True.",
            )
            return
        if continuing and (not messages or messages[-1]["role"] != "assistant"):
            self._error(400, "continue_final_message needs a final assistant message")
            return
        kwargs = dict(body.get("chat_template_kwargs") or {})
        if body.get("tools"):
            kwargs["tools"] = body["tools"]
        prompt = chat_prompt(
            self.app.backend,
            model.path,
            messages,
            add_generation_prompt=not continuing,
            continue_final_message=continuing,
            **kwargs,
        )
        in_thinking = False
        if model.thinking and continuing:
            last = messages[-1]["content"]
            in_thinking = last.rfind(THINK_OPEN) > last.rfind(THINK_CLOSE)
        elif model.thinking and kwargs.get("enable_thinking", True):
            prompt += "<think>\n"  # a tiny random model never opens the thought itself
            in_thinking = True
        record.prompt = prompt
        # vLLM's chat ``echo``: the reply starts with the message it continued
        echo = messages[-1]["content"] if continuing and body.get("echo") else ""
        say = self.app.faults.say.pop(0) if self.app.faults.say else None
        with forced_output(self.app.backend, model.path, say):
            self._respond(body, name, model, prompt, in_thinking, echo)

    def _respond(
        self,
        body: dict[str, Any],
        name: str,
        model: ServedModel,
        prompt: str,
        in_thinking: bool,
        echo: str = "",
    ) -> None:
        end: dict[str, Any] = {}
        pieces = _pieces(
            self.app.backend, model, prompt, _params(body), in_thinking, end
        )
        faults = self.app.faults
        base = {"id": "chatcmpl-test", "created": int(time.time()), "model": name}
        field_name = faults.reasoning_field if model.thinking else None
        tools = ToolCallStream() if body.get("tools") else None
        if body.get("stream") is not True:
            pairs = list(pieces)
            text = "".join(t for _, t in pairs)
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if field_name:
                message[field_name] = "".join(t for t, _ in pairs) or None
            finish = end["finish"]
            if tools is not None and (parsed := parse_tool_calls(text)).tool_calls:
                message["content"] = parsed.text or None
                message["tool_calls"] = [_wire_call(c) for c in parsed.tool_calls]
                finish = "tool_calls"
            choice = {"index": 0, "message": message, "finish_reason": finish}
            out = {**base, "object": "chat.completion", "choices": [choice]}
            if not faults.omit_usage:
                out["usage"] = faults.usage or _usage(end["usage"])
            self._json(200, out)
            return
        self._start_chunked("text/event-stream")
        base = {**base, "object": "chat.completion.chunk"}
        self._event(
            {**base, "choices": [_choice({"role": "assistant", "content": ""})]}
        )
        if echo:
            self._event({**base, "choices": [_choice({"content": echo})]})
        for sent, (thought, text) in enumerate(pieces):
            if faults.drop_after is not None and sent >= faults.drop_after:
                self.close_connection = True
                cut(self.connection)
                return
            if faults.error_after is not None and sent >= faults.error_after:
                self._event({"error": {"message": "engine died", "code": 500}})
                self._event("[DONE]")
                self._end_chunked()
                return
            if faults.garbage_after is not None and sent >= faults.garbage_after:
                self._event([1, 2])  # valid JSON, not an event object
                self._event("[DONE]")
                self._end_chunked()
                return
            if tools is not None and text:
                text, _ = tools.feed(text)  # held back while a <tool_call> is open
            delta: dict[str, Any] = {"content": text} if text else {}
            if thought and field_name:
                delta[field_name] = thought
            if delta:
                self._event({**base, "choices": [_choice(delta)]})
        finish = end["finish"]
        if tools is not None:
            rest, _ = tools.finish()
            if rest:
                self._event({**base, "choices": [_choice({"content": rest})]})
            for index, call in enumerate(tools.calls):  # vLLM: name first, then arguments
                head = {"index": index, "id": call.id, "type": "function",
                        "function": {"name": call.name, "arguments": ""}}  # fmt: skip
                self._event({**base, "choices": [_choice({"tool_calls": [head]})]})
                args = {"index": index, "function": {"arguments": call.arguments_json}}
                self._event({**base, "choices": [_choice({"tool_calls": [args]})]})
            finish = "tool_calls" if tools.calls else finish
        self._event({**base, "choices": [_choice({}, finish)]})
        if (body.get("stream_options") or {}).get("include_usage") and not faults.omit_usage:
            usage = faults.usage or _usage(end["usage"])
            self._event({**base, "choices": [], "usage": usage})
        self._event("[DONE]")
        if faults.hold_after_done_s:
            self.app.stall(faults.hold_after_done_s)
        self._end_chunked()


def _pieces(
    backend: HFBackend,
    model: ServedModel,
    prompt: str,
    params: GenerationParams,
    in_thinking: bool,
    end: dict[str, Any],
) -> Iterator[tuple[str, str]]:
    """``(thought, text)`` as vLLM's reasoning parser emits them (thinking models
    only); ``end`` receives ``usage`` and ``finish`` when generation is over."""
    splitter = ThinkSplitter(in_thinking=in_thinking) if model.thinking else None
    for piece in stream_text(backend, model.path, prompt, params, end):
        if piece:
            thought, text = splitter.feed(piece) if splitter else ("", piece)
            if thought or text:
                yield thought, text
    if splitter is not None and any(rest := splitter.flush()):
        yield rest


def _template_message(message: dict[str, Any], text: str) -> dict[str, Any]:
    """A wire message as the chat template takes it (tool call arguments parsed)."""
    out: dict[str, Any] = {"role": message.get("role", "user"), "content": text}
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function", "function": {
                "name": c["function"]["name"],
                "arguments": json.loads(c["function"].get("arguments") or "{}")}}
            for c in message["tool_calls"]
        ]  # fmt: skip
    for key in ("tool_call_id", "name"):
        if message.get(key):
            out[key] = message[key]
    return out


def _wire_call(call: Any) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json},
    }


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _usage(usage: Any) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def _flatten(content: Any, images: list[bytes]) -> str | None:
    """Text of a message; image parts are decoded into ``images`` (None: a bad one)."""
    if isinstance(content, str) or content is None:
        return content or ""
    texts = []
    for part in content:
        if part.get("type") == "text":
            texts.append(part.get("text") or "")
            continue
        url = (part.get("image_url") or {}).get("url") or ""
        head, _, data = url.partition(",")
        if not (head.startswith("data:image/") and head.endswith(";base64")):
            return None
        try:
            images.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            return None
        texts.append("<|vision_start|><|image_pad|><|vision_end|>")
    return "".join(texts)


def _params(body: dict[str, Any]) -> GenerationParams:
    stop = body.get("stop")
    return GenerationParams(
        max_tokens=body.get("max_tokens") or DEFAULT_MAX_TOKENS,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
        seed=body.get("seed"),
        stop=[stop] if isinstance(stop, str) else stop,
        repetition_penalty=body.get("repetition_penalty"),
    )

"""A small Ollama-protocol server on loopback that answers with a real (tiny) model.

It speaks the parts of Ollama's documented REST API that the backend uses:
``POST /api/chat``, ``POST /api/generate`` (including ``raw: true``), ``GET /api/tags``,
``POST /api/show`` (with ``capabilities``) and ``GET /api/version``. Streaming replies
are NDJSON over chunked transfer encoding; the last object has ``done: true``,
``done_reason`` and the counters (``prompt_eval_count``, ``eval_count``, durations in
nanoseconds). Errors use Ollama's bodies and status codes (``{"error": "model 'x' not
found"}`` with 404, ``{"error": "\\"x\\" does not support thinking"}`` with 400).

Generation goes through qwen-router's transformers backend on tiny random Qwen models,
so tokens, prompt templates and thinking splits are real. Fault-injection knobs
(:class:`Faults`) make it stall, fail with 500s, or break a stream with an error line.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from qwen_router.backends.hf import HFBackend
from qwen_router.backends.tool_calls import ToolCallStream
from qwen_router.thinking import ThinkSplitter
from qwen_router.types import GenerationParams

from .forcing import forced_output
from .loopback import (
    JSONHandler,
    LoopbackServer,
    chat_prompt,
    stream_text,
    tiny_backend,
)

__all__ = ["Faults", "OllamaTestServer", "ServedModel"]

OLLAMA_VERSION = "0.12.6"
DEFAULT_NUM_PREDICT = 24  # real Ollama: -1 (unbounded); small here to keep tests fast


@dataclass
class ServedModel:
    """One model name the server answers for, backed by a tiny model folder."""

    path: str
    family: str = "qwen2"
    capabilities: list[str] = field(default_factory=lambda: ["completion"])


@dataclass
class Faults:
    """Fault injection, read on every request. Set attributes from the test."""

    stall_s: float = 0.0  # sleep before answering (woken early by stop())
    fail_status: int | None = None  # answer every request with this status...
    fail_count: int = 0  # ...this many times (then behave again)
    error_after: int | None = None  # stream this many chunks, then an {"error"} line
    error_message: str = "an error was encountered while running the model"
    # texts the model is made to generate (tool calls included), one per chat request;
    # with ``tools`` in the request they are parsed as Ollama's Qwen parser does
    say: list[str] = field(default_factory=list)


class OllamaTestServer(LoopbackServer):
    """Run on a free port in a background thread; ``stop()`` drops every connection."""

    def __init__(self, models: dict[str, ServedModel]) -> None:
        super().__init__(_Handler)
        self.models = models
        self.faults = Faults()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.backend = tiny_backend()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.faults = Faults()
        self.requests.clear()


class _Handler(JSONHandler):
    json_type = "application/json; charset=utf-8"
    app: OllamaTestServer

    # --- framing -----------------------------------------------------------------
    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _line(self, obj: dict[str, Any]) -> None:
        self._chunk(json.dumps(obj).encode() + b"\n")

    def _body(self) -> dict[str, Any] | None:
        try:
            body = self._read_json()
        except json.JSONDecodeError:
            self._error(400, "invalid character in request body")
            return None
        return body if isinstance(body, dict) else {}

    # --- routes ------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _get(self) -> None:
        if not self._before(self.path, {}):
            return
        if self.path == "/api/version":
            self._json(200, {"version": OLLAMA_VERSION})
        elif self.path == "/api/tags":
            self._json(
                200, {"models": [self._tag(n, m) for n, m in self.app.models.items()]}
            )
        elif self.path == "/":
            self._text("Ollama is running")
        else:
            self._error(404, "404 page not found")

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        if body is None or not self._before(self.path, body):
            return
        routes = {
            "/api/chat": self._chat,
            "/api/generate": self._generate,
            "/api/show": self._show,
        }
        handler = routes.get(self.path)
        if handler is None:
            self._error(404, "404 page not found")
            return
        try:
            handler(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _text(self, text: str) -> None:
        self._send(200, text.encode(), "text/plain; charset=utf-8")

    def _before(self, path: str, body: dict[str, Any]) -> bool:
        """Record the request and apply stall / failure faults."""
        self.app.requests.append((path, body))
        faults = self.app.faults
        if faults.stall_s:
            if self.app.stall(faults.stall_s):
                self.close_connection = True
                return False
        status = self.app.take_failure()
        if status is not None:
            self._error(status, "llama runner process has terminated: exit status 2")
            return False
        return True

    def _tag(self, name: str, model: ServedModel) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": datetime.now(timezone.utc).isoformat(),
            "size": 1_234_567,
            "digest": f"{abs(hash(name)):064x}"[:64],
            "details": {
                "parent_model": "",
                "format": "safetensors",
                "family": model.family,
                "families": [model.family],
                "parameter_size": "6M",
                "quantization_level": "F32",
            },
        }

    def _lookup(self, body: dict[str, Any]) -> tuple[str, ServedModel] | None:
        name = body.get("model") or ""
        if not name:
            self._error(400, "model is required")
            return None
        model = self.app.models.get(name) or self.app.models.get(f"{name}:latest")
        if model is None:
            self._error(404, f"model '{name}' not found")
            return None
        return name, model

    def _show(self, body: dict[str, Any]) -> None:
        found = self._lookup(body)
        if found is None:
            return
        name, model = found
        self._json(
            200,
            {
                "modelfile": f"FROM {model.path}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self._tag(name, model)["details"],
                "model_info": {"general.architecture": model.family},
                "capabilities": model.capabilities,
                "modified_at": datetime.now(timezone.utc).isoformat(),
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        found = self._lookup(body)
        if found is None or not self._check_common(body, found):
            return
        messages = body.get("messages") or []
        for msg in messages:
            for img in msg.get("images") or []:
                if not _is_base64(img):
                    self._error(400, "illegal base64 data at input byte 0")
                    return
        plain = [_template_message(m) for m in messages]
        kwargs: dict[str, Any] = {}
        if body.get("think") is not None and "thinking" in found[1].capabilities:
            kwargs["enable_thinking"] = bool(body["think"])
        if body.get("tools"):
            if "tools" not in found[1].capabilities:
                self._error(400, f'registry.ollama.ai/library/{found[0]} does not support tools')
                return
            kwargs["tools"] = body["tools"]
        prompt = chat_prompt(
            self.app.backend, found[1].path, plain, add_generation_prompt=True, **kwargs
        )
        say = self.app.faults.say.pop(0) if self.app.faults.say else None
        with forced_output(self.app.backend, found[1].path, say):
            self._respond(body, found, prompt, key="message")

    def _generate(self, body: dict[str, Any]) -> None:
        found = self._lookup(body)
        if found is None or not self._check_common(body, found):
            return
        prompt = body.get("prompt") or ""
        if not body.get("raw"):
            messages = [{"role": "user", "content": prompt}]
            if body.get("system"):
                messages.insert(0, {"role": "system", "content": body["system"]})
            prompt = chat_prompt(
                self.app.backend, found[1].path, messages, add_generation_prompt=True
            )
        self._respond(body, found, prompt, key="response")

    def _check_common(
        self, body: dict[str, Any], found: tuple[str, ServedModel]
    ) -> bool:
        name, model = found
        think = body.get("think")
        if think not in (None, False) and "thinking" not in model.capabilities:
            self._error(400, f'"{name}" does not support thinking')
            return False
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            self._error(400, 'invalid format: expected "json" or a valid JSON schema')
            return False
        return True

    # --- generation -----------------------------------------------------------------
    def _respond(
        self,
        body: dict[str, Any],
        found: tuple[str, ServedModel],
        prompt: str,
        *,
        key: str,
    ) -> None:
        name, model = found
        think = body.get("think") not in (None, False)
        if think and not body.get("raw"):
            prompt += (
                "<think>\n"  # a tiny random model would never open the thought itself
            )
        params = _params(body.get("options") or {})
        started = time.perf_counter_ns()
        load_ns = _load_ns(self.app.backend, model.path)
        splitter = ThinkSplitter(in_thinking=think)
        stream = body.get("stream", True) is not False
        faults = self.app.faults
        text_parts: list[str] = []
        thought_parts: list[str] = []
        chunks = 0
        end: dict[str, Any] = {}
        first_ns: int | None = None
        tools = ToolCallStream() if body.get("tools") and key == "message" else None
        if stream:
            self._start_chunked("application/x-ndjson")
        for piece in stream_text(self.app.backend, model.path, prompt, params, end):
            thought, text = splitter.feed(piece) if think else ("", piece)
            if tools is not None and text:
                text, _ = tools.feed(text)  # held back while a <tool_call> is open
            first_ns = first_ns or time.perf_counter_ns()
            if not (thought or text):
                continue
            if (
                stream
                and faults.error_after is not None
                and chunks >= faults.error_after
            ):
                self._line({"error": faults.error_message})
                self._end_chunked()
                return
            chunks += 1
            text_parts.append(text)
            thought_parts.append(thought)
            if stream:
                self._line(_piece(name, key, text, thought, think))
        if think:
            thought, text = splitter.flush()
            text_parts.append(text)
            thought_parts.append(thought)
        calls: list[dict[str, Any]] = []
        if tools is not None:
            rest, _ = tools.finish()
            text_parts.append(rest)
            calls = [
                {"function": {"index": i, "name": c.name, "arguments": c.arguments}}
                for i, c in enumerate(tools.calls)
            ]
            if stream and calls:  # Ollama: the calls on a line of their own
                line = _piece(name, key, rest, "", think)
                line["message"]["tool_calls"] = calls
                self._line(line)
        done = _piece(
            name,
            key,
            "" if stream else "".join(text_parts),
            "" if stream else "".join(thought_parts),
            think,
        )
        usage = end.get("usage")
        stop_ns = time.perf_counter_ns()
        prompt_ns = (first_ns or stop_ns) - started
        done.update(
            done=True,
            done_reason=end.get("finish", "stop"),
            total_duration=stop_ns - started + load_ns,
            load_duration=load_ns,
            prompt_eval_count=usage.prompt_tokens if usage else 0,
            prompt_eval_duration=prompt_ns,
            eval_count=usage.completion_tokens if usage else 0,
            eval_duration=stop_ns - started - prompt_ns,
        )
        if key == "response" and not body.get("raw"):
            done["context"] = [1, 2, 3]
        if calls and not stream:
            done["message"]["content"] = "".join(text_parts).strip()
            done["message"]["tool_calls"] = calls
        if stream:
            self._line(done)
            self._end_chunked()
        else:
            self._json(200, done)


def _template_message(message: dict[str, Any]) -> dict[str, Any]:
    """A wire message as the chat template takes it (tool calls, tool names)."""
    out: dict[str, Any] = {
        "role": message.get("role", "user"),
        "content": message.get("content") or "",
    }
    if message.get("tool_calls"):
        out["tool_calls"] = message["tool_calls"]
    if message.get("tool_name"):
        out["name"] = message["tool_name"]
    return out


def _piece(name: str, key: str, text: str, thought: str, think: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": name,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "done": False,
    }
    if key == "message":
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if think:
            message["thinking"] = thought
        out["message"] = message
    else:
        out["response"] = text
        if think:
            out["thinking"] = thought
    return out


def _params(options: dict[str, Any]) -> GenerationParams:
    num_predict = options.get("num_predict")
    if num_predict is None or num_predict < 0:
        num_predict = DEFAULT_NUM_PREDICT
    return GenerationParams(
        max_tokens=max(1, int(num_predict)),
        temperature=options.get("temperature"),
        top_p=options.get("top_p"),
        top_k=options.get("top_k"),
        seed=options.get("seed"),
        stop=options.get("stop"),
    )


def _load_ns(backend: HFBackend, path: str) -> int:
    loaded = backend.load(path)
    if getattr(loaded, "_ollama_load_reported", False):
        return 0
    loaded._ollama_load_reported = True  # type: ignore[attr-defined]
    return int(loaded.load_ms * 1_000_000)


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True

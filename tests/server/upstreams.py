"""Real HTTP servers on loopback that the router talks to in the safety tests.

* :class:`ScriptedUpstream` speaks OpenAI chat completions (SSE or JSON) and misbehaves
  on purpose: it drips tokens slowly, stalls before answering, or answers a request
  containing ``BAD_TURN`` with a 500 validation error (as some servers do for a
  malformed tool turn). It records when a client went away mid-answer.
* :class:`ImageHost` serves a PNG, redirects, or drips bytes, for the URL-fetch tests.

Both are ``http.server`` servers in a daemon thread, so they are real sockets.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BAD_TURN", "ImageHost", "ScriptedUpstream"]

BAD_TURN = "BAD_TURN"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, handler: type[BaseHTTPRequestHandler], owner: Any):
        super().__init__((host, 0), handler)
        self.owner = owner


class _Base:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
        self.server = _Server(host, handler, self)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ScriptedUpstream(_Base):
    """An OpenAI-compatible upstream: ``token_delay_s`` between tokens, ``stall_s``
    before the first byte, ``tokens`` tokens per answer."""

    def __init__(
        self, *, token_delay_s: float = 0.0, stall_s: float = 0.0, tokens: int = 3
    ):
        super().__init__(_UpstreamHandler)
        self.token_delay_s, self.stall_s, self.tokens = token_delay_s, stall_s, tokens
        self.requests = 0
        self.gone = threading.Event()  # a client disconnected before the answer ended
        self.stop = threading.Event()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        super().__exit__(*exc)


class _UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._json(200, {"object": "list", "data": [{"id": "slow", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        owner: ScriptedUpstream = self.server.owner  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        owner.requests += 1
        if BAD_TURN in json.dumps(body):
            self._json(
                500,
                {
                    "error": {
                        "message": "1 validation error for ChatCompletionRequest: "
                        "messages.2.tool_call_id: field required",
                        "type": "InternalServerError",
                        "param": None,
                        "code": 500,
                    }
                },
            )
            return
        if owner.stall_s and owner.stop.wait(owner.stall_s):
            return
        try:
            if body.get("stream"):
                self._stream(owner, body)
            else:
                self._whole(owner, body)
        except (BrokenPipeError, ConnectionResetError):
            owner.gone.set()

    def _whole(self, owner: ScriptedUpstream, body: dict[str, Any]) -> None:
        for _ in range(owner.tokens):
            if owner.stop.wait(owner.token_delay_s):
                return
        self._json(
            200,
            {
                "id": "up",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "tok " * owner.tokens,
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 1,
                    "completion_tokens": owner.tokens,
                    "total_tokens": 1 + owner.tokens,
                },
            },
        )

    def _stream(self, owner: ScriptedUpstream, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def event(data: str) -> None:
            raw = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()

        for i in range(owner.tokens):
            if owner.stop.wait(owner.token_delay_s):
                return
            chunk = {
                "id": "up",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": f"tok{i} "},
                        "finish_reason": None,
                    }
                ],
            }
            event(json.dumps(chunk))
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


class ImageHost(_Base):
    """``/img.png`` a PNG; ``/redirect?to=URL`` a 302; ``/drip`` one byte a second."""

    def __init__(self, png: bytes, host: str = "127.0.0.1"):
        super().__init__(_ImageHandler, host)
        self.png = png
        self.hits = 0


class _ImageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        owner: ImageHost = self.server.owner  # type: ignore[attr-defined]
        owner.hits += 1
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("location", self.path.split("=", 1)[1])
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if self.path == "/drip":
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(owner.png)))
            self.end_headers()
            try:
                for byte in owner.png:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(owner.png)))
        self.end_headers()
        self.wfile.write(owner.png)

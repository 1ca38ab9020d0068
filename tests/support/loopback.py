"""Plumbing shared by the loopback test servers (``ollama_server.py``,
``openai_server.py``): an HTTP/1.1 server on a free 127.0.0.1 port in a background
thread that tracks its connections and can cut them, a JSON request handler, and the
tiny transformers models the servers answer with.

Each server keeps its own protocol: routes, NDJSON or SSE framing, error bodies, faults.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from qwen_router.backends.hf import HFBackend
from qwen_router.types import GenerationParams

__all__ = [
    "JSONHandler",
    "LoopbackServer",
    "chat_prompt",
    "cut",
    "free_port",
    "stream_text",
    "tiny_backend",
]

_S = TypeVar("_S", bound="LoopbackServer")


def free_port() -> int:
    """A 127.0.0.1 port nobody listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cut(conn: socket.socket) -> None:
    """Shut a connection down both ways; the client sees a reset or EOF."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class LoopbackServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1, on a free port the first time and the
    same port after a restart, answering with ``handler`` (a :class:`JSONHandler`
    subclass; it gets the server as ``app``). Subclasses set ``faults`` and define
    ``reset()``."""

    faults: Any  # has fail_status / fail_count, read by take_failure()

    def __init__(self, handler: type[JSONHandler]) -> None:
        self._handler = handler
        self._wake = threading.Event()  # set by stop(): stalled requests wake up
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self.connections = 0  # accepted since start, for connection-reuse checks
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self: _S) -> _S:
        handler = type("Handler", (self._handler,), {"app": self})
        self._wake.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections (clients see refused / reset)."""
        self._wake.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            for conn in list(self._conns):
                cut(conn)
            self._conns.clear()

    def reset(self) -> None:
        raise NotImplementedError

    def fresh(self: _S) -> _S:
        """``reset()``, and start again if a test stopped the server."""
        self.reset()
        if not self.running:
            self.start()
        return self

    def stall(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when woken early (by ``stop()``)."""
        return self._wake.wait(seconds)

    def take_failure(self) -> int | None:
        """The status of an injected failure, counting it down; None: answer."""
        with self._lock:
            if self.faults.fail_status is None or self.faults.fail_count <= 0:
                return None
            self.faults.fail_count -= 1
            return self.faults.fail_status

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)
            self.connections += 1

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)


class JSONHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, quiet, registered with its server while connected; JSON bodies and
    hand-written chunked transfer encoding (for NDJSON or SSE streams)."""

    protocol_version = "HTTP/1.1"
    json_type = "application/json"
    app: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass

    def setup(self) -> None:
        super().setup()
        self.app._track(self.connection)

    def finish(self) -> None:
        self.app._untrack(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _read_json(self) -> Any:
        """The request body parsed (``{}`` when empty); raises JSONDecodeError."""
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) if length else b"{}")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), self.json_type)

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# --- the tiny models ------------------------------------------------------------------
def tiny_backend() -> HFBackend:
    """The in-process transformers backend the servers generate with (CPU, float32)."""
    return HFBackend(kind="hf", device="cpu", dtype="float32")


def chat_prompt(
    backend: HFBackend, path: str, messages: list[dict[str, str]], /, **template: Any
) -> str:
    """``messages`` rendered by the model's own chat template (``template``: its
    keyword arguments, e.g. ``add_generation_prompt``, ``enable_thinking``)."""
    tok = backend.load(path).tokenizer
    return str(tok.apply_chat_template(messages, tokenize=False, **template))


def stream_text(
    backend: HFBackend,
    path: str,
    prompt: str,
    params: GenerationParams,
    end: dict[str, Any],
) -> Iterator[str]:
    """The text of each generated delta (possibly empty) for a raw ``prompt``; when
    generation is over, ``end`` holds ``usage`` and ``finish`` (the finish reason)."""
    for delta in backend._raw_stream_prompt(path, prompt, params):
        if delta.usage is not None:
            end["usage"], end["finish"] = delta.usage, delta.finish_reason or "stop"
            continue
        yield delta.text

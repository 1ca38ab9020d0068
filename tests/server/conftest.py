"""A real uvicorn server on 127.0.0.1 in a background thread (like httpx's tests), and
profiles for it: the tiny random Qwen2 (real model, fast) and a scripted FakeBackend
(fault injection and load tests only)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from qwen_router.backends.base import Backend
from qwen_router.server import create_app
from qwen_router.settings import Settings

ROUTES = ("general", "code", "math", "vision", "multilingual")


class ServerThread:
    """uvicorn serving one app on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        self.app = app
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@contextlib.contextmanager
def serve(
    profile: str | Path,
    *,
    backends: Mapping[str, Backend] | None = None,
    **settings: Any,
) -> Iterator[ServerThread]:
    """Run a server for ``profile`` with ``settings`` overrides until the block ends."""
    app = create_app(Settings(profile=str(profile), **settings), backends=backends)
    server = ServerThread(app).start()
    try:
        yield server
    finally:
        server.stop()


def write_fake_profile(path: Path, *, options: str = "{}") -> Path:
    """A profile whose every route is the scripted FakeBackend (``fake:scripted``)."""
    routes = "\n".join(
        f"  {name}:\n    model: fake:scripted\n    template: {name}"
        + ("\n    fallbacks: ['fake:backup']" if name == "general" else "")
        for name in ROUTES
    )
    path.write_text(
        f"name: fake\nbackends:\n  fake: {options}\n"
        f"retry: {{max_retries: 0}}\nroutes:\n{routes}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def fake_profile_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_profile(tmp_path_factory.mktemp("profiles") / "fake.yaml")


@pytest.fixture(scope="session")
def tiny_server(tiny_profile_yaml: Path) -> Iterator[ServerThread]:
    """The tiny-Qwen2 profile served with default settings (models preloaded)."""
    with serve(tiny_profile_yaml, preload=True) as server:
        yield server


@pytest.fixture
def fake_server(fake_profile_yaml: Path) -> Callable[..., Any]:
    """``with fake_server(backend=FakeBackend(...), **settings) as server:``."""

    def start(backend: Backend | None = None, **settings: Any) -> Any:
        backends = {"fake": backend} if backend is not None else None
        return serve(fake_profile_yaml, backends=backends, **settings)

    return start

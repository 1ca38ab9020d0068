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
from qwen_router.server.run import uvicorn_options
from qwen_router.settings import Settings

ROUTES = ("general", "code", "math", "vision", "multilingual")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving one app on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any, settings: Settings | None = None) -> None:
        self.port = settings.port if settings is not None and settings.port else free_port()
        # the same uvicorn options `qwen-router serve` uses (proxies, keep-alive)
        options = uvicorn_options(settings or Settings())
        options.update(
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=10,
        )
        config = uvicorn.Config(app, **options)
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
    settings.setdefault("port", free_port())  # the server knows its own port
    config = Settings(profile=str(profile), **settings)
    app = create_app(config, backends=backends)
    server = ServerThread(app, config).start()
    try:
        yield server
    finally:
        server.stop()


def write_fake_profile(
    path: Path, *, options: str = "{}", extra_backends: str = "", retry: str = "{max_retries: 0}"
) -> Path:
    """A profile whose every route is the scripted FakeBackend (``fake:scripted``),
    plus a ``thinking`` route on ``fake:qwen3-scripted`` (a name clients may use)."""
    routes = "\n".join(
        f"  {name}:\n    model: fake:scripted\n    template: {name}"
        + ("\n    fallbacks: ['fake:backup']" if name == "general" else "")
        for name in ROUTES
    )
    # a hybrid-thinking model name the profile serves, so clients may name it
    routes += "\n  thinking:\n    model: fake:qwen3-scripted\n    template: general"
    path.write_text(
        f"name: fake\nbackends:\n  fake: {options}\n{extra_backends}"
        f"retry: {retry}\nroutes:\n{routes}\n",
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

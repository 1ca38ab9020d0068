"""A backend defined outside the package serves a route on every surface: the Router,
``ask``, ``models`` and ``serve`` — registered by code here, and installed as an
entry-point plugin in a fresh venv (the slow test). No package file knows about it.

``EchoBackend`` is the README's "Writing a backend" example, verbatim.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# --- README: Writing a backend (start) ----------------------------------------------
from qwen_router.backends import (
    BaseBackend,
    Capabilities,
    GenerateRequest,
    Health,
    RawDelta,
)


class EchoBackend(BaseBackend):
    """Answers with the last user message in capitals, one word per delta."""

    name = "echo"
    capabilities = Capabilities(streaming=True)

    def __init__(self, *, suffix: str = "!") -> None:
        self.suffix = suffix  # profile options: ``backends: {echo: {suffix: "?"}}``

    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        text = next(m.text for m in reversed(request.messages) if m.role == "user")
        for i, word in enumerate(text.upper().split()):
            yield RawDelta(text=word if i == 0 else f" {word}", tokens=1)
        yield RawDelta(text=self.suffix, finish_reason="stop")

    def health(self, model: str) -> Health:
        return Health(backend=self.name, model=model, available=True, detail="always up")


# --- README: Writing a backend (end) ------------------------------------------------

from qwen_router import Router  # noqa: E402
from qwen_router.backends.registry import (  # noqa: E402
    backend_names,
    register_backend,
    unregister_backend,
)
from qwen_router.cli import main  # noqa: E402
from qwen_router.errors import ConfigError  # noqa: E402

PROFILE = """\
name: echo
backends:
  echo: {suffix: "?"}
routes:
  general:
    model: echo:shout
    template: general
"""


@pytest.fixture
def registered() -> Iterator[None]:
    register_backend("echo", EchoBackend)
    yield
    unregister_backend("echo")


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "echo.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def test_unregistered_backend_is_a_config_error_naming_the_field(profile: Path) -> None:
    with pytest.raises(ConfigError, match="routes.general.model.*unknown backend 'echo'"):
        Router(profile)


def test_an_instance_is_enough_without_registering(profile: Path) -> None:
    with Router(profile, backends={"echo": EchoBackend(suffix=".")}) as router:
        assert router.invoke("hello plugin world").answer == "HELLO PLUGIN WORLD."


@pytest.mark.usefixtures("registered")
def test_registered_backend_serves_the_router(profile: Path) -> None:
    assert "echo" in backend_names()
    with Router(profile) as router:
        result = router.invoke("hello plugin world")
        streamed = "".join(e.text for e in router.stream("two words") if e.type == "token")
    assert result.answer == "HELLO PLUGIN WORLD?"
    assert result.model == "echo:shout" and result.backend == "echo"
    assert streamed == "TWO WORDS?"


@pytest.mark.usefixtures("registered")
def test_registered_backend_serves_ask_and_models(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--profile", str(profile), "--json", "hello cli"]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == "HELLO CLI?"
    assert main(["models", "--profile", str(profile), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["available"], r["detail"]) for r in rows] == [
        ("echo:shout", True, "always up")
    ]


@pytest.mark.usefixtures("registered")
def test_registered_backend_serves_the_http_api(profile: Path) -> None:
    from fastapi.testclient import TestClient
    from qwen_router.server import create_app
    from qwen_router.settings import Settings

    with TestClient(create_app(Settings(profile=str(profile)))) as client:
        reply = client.post(
            "/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "over http"}]},
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "OVER HTTP?"


# --- the same backend as an installed plugin ----------------------------------------
def _plugin_wheel(folder: Path) -> Path:
    """A wheel of one module holding EchoBackend, with a ``qwen_router.backends`` entry
    point; written directly (a wheel is a zip), so no build backend or index is needed."""
    module = "from __future__ import annotations\n\n" + _readme_example()
    dist = "qr_echo_plugin-0.1.dist-info"
    files = {
        "qr_echo_plugin.py": module,
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: qr-echo-plugin\nVersion: 0.1\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": "[qwen_router.backends]\necho = qr_echo_plugin:EchoBackend\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{dist}/RECORD"])
    wheel = folder / "qr_echo_plugin-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_entry_point_plugin_in_a_fresh_venv(tmp_path: Path, profile: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    # see this interpreter's packages (qwen-router itself) from the new venv
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "qwen_router_parent.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n", encoding="utf-8"
    )
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(_plugin_wheel(tmp_path))],
        check=True,
    )
    cli = [python, "-c", "import sys; from qwen_router.cli import main; sys.exit(main())"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    ask = subprocess.run(
        [*cli, "ask", "--profile", str(profile), "--json", "from a plugin"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["answer"] == "FROM A PLUGIN?"
    models = subprocess.run(
        [*cli, "models", "--profile", str(profile), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert models.returncode == 0, models.stderr
    assert json.loads(models.stdout)[0]["available"] is True

    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--profile", str(profile), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve never became ready"
            time.sleep(0.2)
        reply = httpx.post(
            f"{base}/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "served plugin"}]},
            timeout=60,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == "SERVED PLUGIN?"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _readme_example() -> str:
    source = Path(__file__).read_text(encoding="utf-8")
    start = source.index("# --- README: Writing a backend (start)")
    end = source.index("# --- README: Writing a backend (end)")
    return textwrap.dedent(source[start:end].split("\n", 1)[1])


def test_readme_example_is_about_25_lines() -> None:
    code = [line for line in _readme_example().splitlines() if line.strip()]
    assert len(code) <= 25

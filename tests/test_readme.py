"""The README's examples run as written.

Every ```python block runs (on the offline ``local`` profile, in a scratch working
directory). Blocks of one ``##`` section run in order in one namespace, the way a reader
types them one after another. A block that needs something only a reader has — a photo
of their own, a model server of their own — contains a marker from ``NEEDS_THE_READER``;
nothing else is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# Text that marks a block as needing the reader's own files or servers.
NEEDS_THE_READER = ("Image.open(", "http://127.0.0.1:8000", 'Router("ollama")')


def _sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    text = README.read_text(encoding="utf-8")
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title = part.splitlines()[0].strip()
        sections[title] = re.findall(r"```python\n(.*?)```", part, re.S)
    return sections


def _runnable(blocks: list[str]) -> list[str]:
    return [b for b in blocks if not any(marker in b for marker in NEEDS_THE_READER)]


SECTIONS = {title: _runnable(blocks) for title, blocks in _sections().items()}
RUNNABLE = {title: blocks for title, blocks in SECTIONS.items() if blocks}


def test_only_reader_bound_examples_are_skipped() -> None:
    total = sum(len(blocks) for blocks in _sections().values())
    runnable = sum(len(blocks) for blocks in RUNNABLE.values())
    assert runnable >= total - 3, "only the image, server and Ollama examples may be skipped"


@pytest.mark.slow
@pytest.mark.parametrize("title", list(RUNNABLE))
def test_readme_python_examples_run(
    title: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(RUNNABLE[title], 1):
        exec(compile(block, f"README.md '{title}' block {number}", "exec"), namespace)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_readme_server_examples_run_against_qwen_router_serve(tmp_path: Path) -> None:
    """The README's client examples, against the README's own `qwen-router serve` command."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    blocks = [b for blocks in _sections().values() for b in blocks if "http://127.0.0.1:8000" in b]
    assert blocks, "the README shows a client of `qwen-router serve`"
    port = _free_port()
    command = [sys.executable, "-m", "qwen_router.cli", "serve", "--profile", "local",
               "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        for number, block in enumerate(blocks, 1):
            code = block.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
            exec(compile(code, f"README.md server client block {number}", "exec"), {"__name__": "readme"})
    finally:
        server.terminate()
        server.wait(timeout=60)

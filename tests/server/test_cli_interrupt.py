"""``qwen-router ask`` stops on Ctrl-C during a long generation (issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def test_ask_stops_on_sigint(tiny_profile_yaml: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qwen_router.cli",
            "ask",
            "Count from one to a million.",
            "--profile",
            str(tiny_profile_yaml),
            "--max-tokens",
            "4000",
            "--route",
            "general",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        # A test run started in the background (``nohup ... &``) ignores SIGINT, and
        # Python keeps an ignored SIGINT ignored: give the CLI the default, as a
        # terminal would, so the test checks the CLI and not how it was launched.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = bytearray()

    def read() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while len(seen) < 200 and proc.poll() is None:  # the answer is streaming
        assert time.monotonic() < deadline, "no output"
        time.sleep(0.05)
    assert proc.poll() is None, "the generation ended before it could be interrupted"
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    assert code == 130 and time.monotonic() - start < 10, bytes(seen[-2000:])
    reader.join(5)
    assert b"interrupted" in seen

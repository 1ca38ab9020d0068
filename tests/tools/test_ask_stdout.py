"""``qwen-router ask`` piped: stdout holds only the final answer; the live stream (every
attempt, repair markers) goes to stderr. Real tiny Qwen2 on CPU, greedy decoding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _ask(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "qwen_router.cli", "ask", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.slow
def test_piped_stdout_is_only_the_final_answer(tiny_profile_yaml: Path) -> None:
    prompt = "Solve 2x + 3 = 7 for x"
    piped = _ask(prompt, "--profile", str(tiny_profile_yaml))
    assert piped.returncode == 0, piped.stderr
    as_json = _ask("--json", prompt, "--profile", str(tiny_profile_yaml))
    answer = json.loads(as_json.stdout)["answer"]
    assert piped.stdout == answer + "\n"
    assert answer in piped.stderr  # the live stream went to stderr
    assert "route=math" in piped.stderr

"""A process that served the bundled GGUF through llama.cpp exits cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp")

SCRIPT = """
from qwen_router.backends.llamacpp import LlamaCppBackend
from qwen_router.backends.types import GenerateRequest
from qwen_router.types import GenerationParams, Message

backend = LlamaCppBackend(n_threads=2, n_ctx=512)
request = GenerateRequest(
    model="smollm2-135m-instruct",
    messages=[Message(role="user", content="Say hi.")],
    params=GenerationParams(temperature=0.0, max_tokens=2),
)
print(backend.generate(request).finish_reason)
"""


def test_no_exception_is_ignored_at_interpreter_exit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in {"stop", "length"}
    assert "Exception ignored" not in out.stderr, out.stderr

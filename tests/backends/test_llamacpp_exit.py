"""A process that serves the bundled GGUF through llama.cpp decodes with the default
weight repacking and exits cleanly. In a process of its own, so that a crash in
llama.cpp fails this test rather than killing the test run: before the backend turned
repacking off on CPUs that report AMX, the first decode on this project's CI machine
(a Sapphire Rapids VM) died with SIGSEGV and took pytest down with it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qwen_router.backends.llamacpp.repack import cpu_reports_amx

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
print(backend.repack, backend.generate(request).finish_reason)
"""


def test_no_exception_is_ignored_at_interpreter_exit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    repack, finish = out.stdout.split()
    assert repack == str(not cpu_reports_amx()) and finish in {"stop", "length"}
    assert "Exception ignored" not in out.stderr, out.stderr

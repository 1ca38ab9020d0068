"""Shared fixtures: tiny random-weight Qwen models with the real Qwen vocabulary.

Built once per test session (about a second each after the tokenizer is cached).
Nothing here touches a model hub.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Qwen2 (Qwen2.5 chat template) saved as a transformers folder."""
    from qwen_router.testing import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Qwen3 with the hybrid-thinking chat template."""
    from qwen_router.testing import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"))


@pytest.fixture(scope="session")
def tiny_profile_yaml(tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A profile whose every route is served by the tiny Qwen2 (fast graph tests)."""
    path = tmp_path_factory.mktemp("profiles") / "tiny.yaml"
    routes = "\n".join(
        f"  {name}:\n    model: hf:{tiny_qwen2}\n    template: {name}\n"
        f"    params: {{max_tokens: 8, temperature: 0.0}}"
        + ("\n    verifiers: [math]\n    max_repairs: 1" if name == "math" else "")
        for name in ("general", "code", "math", "vision", "multilingual")
    )
    path.write_text(
        f"name: tiny\nbackends:\n  hf: {{device: cpu, dtype: float32}}\nroutes:\n{routes}\n",
        encoding="utf-8",
    )
    return path

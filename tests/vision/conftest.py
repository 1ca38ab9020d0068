"""Fixtures for the vision route: a tiny random Qwen2.5-VL built once per session.

Sample images come from ``vision_samples.py`` next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # vision_samples.py


@pytest.fixture(scope="session")
def tiny_qwen25_vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL: 2 vision blocks, 2 text layers, real Qwen vocab."""
    from qwen_router.testing import build_tiny_qwen25_vl

    return build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny-qwen25-vl"))

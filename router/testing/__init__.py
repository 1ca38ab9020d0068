"""Helpers for testing qwen-router setups without downloading weights."""

from .tiny import build_qwen_tokenizer, build_tiny_qwen2, build_tiny_qwen3
from .tiny_qwen35 import build_tiny_qwen35, qwen35_available
from .tiny_vl import build_tiny_qwen25_vl

__all__ = [
    "build_qwen_tokenizer",
    "build_tiny_qwen2",
    "build_tiny_qwen25_vl",
    "build_tiny_qwen3",
    "build_tiny_qwen35",
    "qwen35_available",
]

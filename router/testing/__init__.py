"""Helpers for testing qwen-router setups without downloading weights."""

from .tiny import build_qwen_tokenizer, build_tiny_qwen2, build_tiny_qwen3

__all__ = ["build_qwen_tokenizer", "build_tiny_qwen2", "build_tiny_qwen3"]

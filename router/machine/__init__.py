"""``qwen-router init``: detect the machine, size a profile to it."""

from __future__ import annotations

__all__: list[str] = []

"""Thinking in one place: tags and the splitter (:mod:`.tags`), the model family
table (:mod:`.families`, read by :mod:`.models`), and the difficulty -> budget
policy (:mod:`.policy`).

The package root re-exports only the splitter: ``import qwen_router.thinking`` stays
as light as the backends that feed their text through it need.
"""

from __future__ import annotations

from .tags import (
    EARLY_STOP_SENTENCE,
    THINK_CLOSE,
    THINK_CLOSE_ID,
    THINK_OPEN,
    THINK_OPEN_ID,
    ThinkSplitter,
    split_thinking,
)

__all__ = [
    "EARLY_STOP_SENTENCE",
    "THINK_CLOSE",
    "THINK_CLOSE_ID",
    "THINK_OPEN",
    "THINK_OPEN_ID",
    "ThinkSplitter",
    "split_thinking",
]

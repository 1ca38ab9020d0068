"""The in-process model record shared by loading, generation, batching and vision."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoadedModel"]


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    source: str
    device: str
    load_ms: float
    load_reported: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    processor: Any = None  # set for vision-language models (see hf_vision)

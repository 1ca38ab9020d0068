"""Backends: one protocol, several implementations, imported lazily by spec."""

from .base import (
    Backend,
    BaseBackend,
    Capabilities,
    Chunk,
    GenerateRequest,
    GenerateResult,
    Health,
    RawDelta,
)

__all__ = [
    "Backend",
    "BaseBackend",
    "Capabilities",
    "Chunk",
    "GenerateRequest",
    "GenerateResult",
    "Health",
    "RawDelta",
]

"""What a recompute handler returns (shared by the topic modules, no parsing here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Expected", "Unsupported"]


class Unsupported(Exception):
    """sympy cannot settle this question (no closed form, free parameters, odd shape)."""


@dataclass
class Expected:
    """What sympy computed.

    ``compare`` is ``value`` | ``expr`` | ``set`` | ``antiderivative`` | ``base`` (an
    integer ``value`` to be written in base ``base``; the answer's digits are read in that
    base, or in the base its subscript names).
    """

    value: Any
    compare: str
    method: str
    variable: Any = None
    integrand: Any = None
    base: int | None = None

"""Verifier registry: profile names (``verifiers: [math]``) to callables.

A verifier takes the question and the model's answer and returns a
:class:`~qwen_router.types.Verification`; it never raises on bad model output.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from qwen_router.errors import ToolError
from qwen_router.types import Verification

__all__ = ["VERIFIERS", "get_verifier"]

Verifier = Callable[[str, str], Verification]

# name -> "module:function", imported on first use (sympy is heavy).
VERIFIERS: dict[str, str] = {
    "math": "qwen_router.tools.math_verify:verify",
}


def get_verifier(name: str) -> Verifier:
    """Raises:
    ToolError: unknown verifier name, or its extra is not installed.
    """
    try:
        target = VERIFIERS[name]
    except KeyError:
        raise ToolError(f"unknown verifier {name!r}", hint=f"known: {', '.join(VERIFIERS)}") from None
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise ToolError(
            f"verifier {name!r} needs an extra: {exc}", hint="pip install 'qwen-router[math]'"
        ) from None

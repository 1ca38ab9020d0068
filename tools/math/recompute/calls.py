"""Expand calls of functions a question defines: ``f(x) = x^2`` makes ``f(3)`` ``(3)^2``."""

from __future__ import annotations

import re

from .expected import Unsupported

__all__ = ["expand_calls"]

_CALL = re.compile(r"(?<![\\a-zA-Z])([a-zA-Z])\s*\(")


def expand_calls(text: str, funcs: dict[str, tuple[str, str]]) -> str:
    """Replace the last ``f(arg)`` of a defined ``f`` with its body, ``arg`` put in."""
    for m in reversed(list(_CALL.finditer(text))):
        name = m.group(1)
        if name not in funcs:
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            raise Unsupported("unbalanced parentheses")
        arg = text[m.end() : i - 1]
        var, body = funcs[name]
        wrapped = "(" + arg + ")"
        body = re.sub(
            rf"(?<![\\a-zA-Z]){var}(?![a-zA-Z])", wrapped.replace("\\", "\\\\"), body
        )
        return text[: m.start()] + "\\left(" + body + "\\right)" + text[i:]
    return text

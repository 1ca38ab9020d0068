"""Pre-rendered JSON for the event a stream repeats once per token.

A token's chunk differs from the last one only in a few strings (the text, Ollama's
timestamp). A :class:`Frame` is one chunk model dumped once, with a placeholder in each
of those strings; each token is then those parts joined around the JSON encoding of its
values, by the same serializer pydantic uses. Building and dumping the nested models
again cost four pydantic validations and a dump per token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel
from pydantic_core import to_json

__all__ = ["Frame", "placeholder"]


def placeholder(slot: int) -> str:
    """The string to put in a chunk model's ``slot``-th varying field."""
    return f"\x00qwen-router-slot-{slot}\x00"


class Frame:
    """``dump(model)`` with each :func:`placeholder` replaced by a value's JSON.

    Raises:
        ValueError: a placeholder is missing from the dump, or appears twice.
    """

    __slots__ = ("_order", "_parts")

    def __init__(
        self, model: BaseModel, slots: int, dump: Callable[[BaseModel], str]
    ) -> None:
        text = dump(model)
        found: list[tuple[int, int, int]] = []  # (position, length, slot)
        for slot in range(slots):
            marker = _encoded(placeholder(slot))
            if text.count(marker) != 1:
                raise ValueError(f"placeholder {slot} is not in the dump exactly once")
            found.append((text.index(marker), len(marker), slot))
        found.sort()
        parts, start = [], 0
        for position, length, _ in found:
            parts.append(text[start:position])
            start = position + length
        parts.append(text[start:])
        self._parts = parts
        self._order = [slot for _, _, slot in found]  # the slots as the dump has them

    def render(self, values: Sequence[str]) -> str:
        """The dump as if the model had been built with ``values`` in its slots."""
        parts = self._parts
        out = [parts[0]]
        for slot, part in zip(self._order, parts[1:], strict=True):
            out.append(_encoded(values[slot]))
            out.append(part)
        return "".join(out)


def _encoded(value: str) -> str:
    return to_json(value).decode()

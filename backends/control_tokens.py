"""Keep control-token strings in message text as text.

In-process backends render a chat template to a string and tokenize it with special
tokens recognised, because the template's own ``<|im_start|>`` / ``<|im_end|>`` must
become control tokens. Message text that contains the same strings would become
control tokens too, letting a user forge system or assistant turns (or vision
placeholders). :func:`escape_control_tokens` breaks every ``<|name|>`` spelling in
message text with a zero-width space after ``<``, so it tokenizes as ordinary text
while it still reads the same; templates are rendered over escaped text, by the
transformers and llama.cpp backends and by the raw ChatML renderer alike.
"""

from __future__ import annotations

import re

__all__ = ["ZERO_WIDTH", "escape_control_tokens"]

ZERO_WIDTH = "\u200b"
_CONTROL = re.compile(r"<(?=\|[A-Za-z0-9_]{1,64}\|>)")


def escape_control_tokens(text: str) -> str:
    """``text`` with each ``<|name|>`` broken so it cannot become a control token."""
    if "<|" not in text:
        return text
    return _CONTROL.sub("<" + ZERO_WIDTH, text)

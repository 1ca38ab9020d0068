"""Make a tiny random model say a given text, through its real ``generate``.

A forward hook on the model acts as a logits processor: at each decoding step it
leaves one token possible, the next token of ``text`` (then the end token), so the
backend's whole path runs (chat template, ``model.generate``, streaming decode) and
only the choice of tokens is fixed. Used by the loopback servers' ``say`` knob and by
the in-process tool-call tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["forced_output"]

_LOCK = threading.Lock()  # one forced generation at a time per process


@contextmanager
def forced_output(backend: Any, model: str, text: str | None) -> Iterator[None]:
    """While inside, generations of ``model`` on the transformers ``backend`` produce
    ``text`` and stop. ``text=None``: nothing is forced."""
    if text is None:
        yield
        return
    loaded = backend.load(model)
    tokenizer = loaded.tokenizer
    target = tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
    step = {"n": 0}

    def force(module: Any, args: Any, kwargs: Any, output: Any) -> Any:
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        if input_ids is not None and input_ids.shape[-1] > 1:  # the prompt: a new run
            step["n"] = 0
        token = target[min(step["n"], len(target) - 1)]
        step["n"] += 1
        logits = output.logits
        logits[..., -1, :] = float("-inf")
        logits[..., -1, token] = 0.0
        return output

    with _LOCK:
        handle = loaded.model.register_forward_hook(force, with_kwargs=True)
        try:
            yield
        finally:
            handle.remove()

"""Token-by-token generation with transformers, shared by the plain, batched and
vision paths: sampling options, EOS ids, the incremental decoder and the
``model.generate`` worker thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from qwen_router.errors import BackendError
from qwen_router.types import GenerationParams, Usage

from ..base import RawDelta
from .model import LoadedModel

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "IncrementalDecoder",
    "eos_ids",
    "generate_encoded",
    "generate_text",
    "sampling_kwargs",
]

DEFAULT_MAX_TOKENS = 512


class _TokenQueue:
    """A transformers streamer that hands generated token ids to another thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[list[int] | None] = queue.Queue()
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first puts the prompt ids
            self._prompt_seen = True
            return
        self.queue.put([int(t) for t in value.reshape(-1).tolist()])

    def end(self) -> None:
        self.queue.put(None)


class IncrementalDecoder:
    """Decode token by token without splitting multi-byte characters."""

    def __init__(self, tokenizer: Any, skip_ids: set[int]) -> None:
        self.tokenizer = tokenizer
        self.skip_ids = skip_ids
        self.ids: list[int] = []
        self.prefix = 0
        self.read = 0

    def add(self, ids: list[int]) -> str:
        self.ids.extend(i for i in ids if i not in self.skip_ids)
        prefix_text = self.tokenizer.decode(self.ids[self.prefix : self.read])
        full_text = self.tokenizer.decode(self.ids[self.prefix :])
        if full_text.endswith("\ufffd"):
            return ""
        delta = full_text[len(prefix_text) :]
        self.prefix, self.read = self.read, len(self.ids)
        return delta


def sampling_kwargs(params: GenerationParams, loaded: LoadedModel) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens or DEFAULT_MAX_TOKENS}
    if params.temperature is None or params.temperature > 0:
        kwargs["do_sample"] = True
        kwargs["temperature"] = params.temperature if params.temperature is not None else 0.7
        if params.top_p is not None:
            kwargs["top_p"] = params.top_p
        if params.top_k is not None:
            kwargs["top_k"] = params.top_k
    else:
        kwargs["do_sample"] = False
        kwargs["temperature"] = None
        kwargs["top_p"] = None
        kwargs["top_k"] = None
    if params.repetition_penalty is not None:
        kwargs["repetition_penalty"] = params.repetition_penalty
    if params.stop:
        kwargs["stop_strings"] = params.stop
        kwargs["tokenizer"] = loaded.tokenizer
    return kwargs


def eos_ids(loaded: LoadedModel) -> set[int]:
    ids: set[int] = set()
    eos = loaded.model.generation_config.eos_token_id
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


def generate_text(loaded: LoadedModel, prompt: str, params: GenerationParams) -> Iterator[RawDelta]:
    encoded = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    yield from generate_encoded(loaded, encoded.to(loaded.device), params)


def generate_encoded(
    loaded: LoadedModel, encoded: Any, params: GenerationParams
) -> Iterator[RawDelta]:
    """Run ``model.generate`` on already-encoded inputs (text or processor output) in a
    worker thread, streaming one delta per token batch, then usage and finish reason.

    Closing the iterator early stops generation at the next token.

    Raises:
        BackendError: generation itself failed.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    cancel = threading.Event()

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

    tokenizer, model = loaded.tokenizer, loaded.model
    prompt_tokens = int(encoded["input_ids"].shape[1])
    kwargs = sampling_kwargs(params, loaded)
    eos = eos_ids(loaded)
    streamer = _TokenQueue()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with loaded.lock, torch.inference_mode():
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                model.generate(
                    **encoded,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                    pad_token_id=tokenizer.pad_token_id or next(iter(eos), None),
                    **kwargs,
                )
        except BaseException as exc:  # re-raised in the consuming thread
            errors.append(exc)
        finally:
            streamer.end()

    worker = threading.Thread(target=run, name="qwen-router-generate", daemon=True)
    worker.start()
    decoder = IncrementalDecoder(tokenizer, eos)
    completion = 0
    last_id: int | None = None
    try:
        while (ids := streamer.queue.get()) is not None:
            completion += len(ids)
            last_id = ids[-1]
            yield RawDelta(text=decoder.add(ids), tokens=len(ids))
    finally:
        cancel.set()
        worker.join()
    if errors:
        raise BackendError(f"generation failed: {errors[0]}", backend="hf") from errors[0]
    hit_limit = completion >= kwargs["max_new_tokens"] and last_id not in eos
    yield RawDelta(
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion),
        finish_reason="length" if hit_limit else "stop",
    )

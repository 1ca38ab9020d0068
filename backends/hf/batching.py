"""In-process batching for the transformers backend.

Requests to the same loaded model that arrive within ``window_ms`` of the first one
(at most ``max_batch_size`` of them) are generated as one left-padded batch by one
worker thread per model. Each row stops on its own (EOS, ``max_tokens``, stop
strings, or its consumer going away) and is dropped from the batch (and its KV cache)
when it does; every request streams its own tokens back as they are produced.
Requests that arrive while a batch runs wait for the next one (no joining mid-batch).
Vision-language models and image requests are never batched (they run alone).
As on the unbatched path, a stop string ends its row after the token that completes
it and stays in the text (matched on the generated text only).

Greedy decoding: left padding with the attention mask and position ids derived from
it gives each row the logits it gets alone, up to float rounding. Measured on SmolLM2
(float32, sdpa, CPU): a row that needs no padding is bit-identical to running alone;
a left-padded row differs by up to ~4e-5 (logits up to ~30, so ~1e-6 relative),
because attention then reduces over a longer key axis (the masked keys add exact
zeros, but the blocked matmul / softmax sums are ordered differently). So batched
greedy output equals unbatched greedy output token for token unless the top two
logits of some step are closer than that; the tests check equality on the tiny
Qwen2 models and on SmolLM2.

Sampling: each request owns a ``torch.Generator`` seeded with ``params.seed`` (a
random seed when unset) and draws one token per step from it, after its own
temperature / top-k / top-p / repetition penalty. So a seeded request yields the same
tokens whether it ran alone or next to other requests (same float caveat), since no
other row consumes its random stream. It does not reproduce the unbatched path
(``model.generate`` with the global torch RNG), and when top-k / top-p are unset
the model's ``generation_config`` values apply, as in ``generate``.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_router.errors import BackendError, ConfigError
from qwen_router.types import GenerationParams, Usage

from ..base import RawDelta
from .generation import IncrementalDecoder, eos_ids
from .model import LoadedModel

__all__ = ["BatchOptions", "ModelBatcher", "batcher_for", "stream_batched"]

DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True)
class BatchOptions:
    """How long to wait for companions, and how many rows one batch may hold."""

    window_ms: float = 15.0
    max_batch_size: int = 8

    def __post_init__(self) -> None:
        if self.window_ms < 0 or self.max_batch_size < 1:
            raise ConfigError(
                f"bad batching options: window_ms={self.window_ms}, "
                f"max_batch_size={self.max_batch_size}",
                hint="window_ms >= 0 and max_batch_size >= 1",
            )


_END = object()


@dataclass
class _Job:
    """One request in the batcher: its prompt ids, settings and output queue."""

    ids: list[int]
    params: GenerationParams
    arrived: float = field(default_factory=time.monotonic)
    out: queue.Queue[Any] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    finish_reason: str = "stop"
    generated: list[int] = field(default_factory=list)

    @property
    def max_new(self) -> int:
        return self.params.max_tokens or DEFAULT_MAX_TOKENS


class ModelBatcher:
    """Collects requests for one model and generates them together on one thread."""

    def __init__(self, loaded: LoadedModel, options: BatchOptions) -> None:
        self.loaded = loaded
        self.options = options
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent batch sizes
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._thread = threading.Thread(
            target=self._loop, name="qwen-router-batcher", daemon=True
        )
        self._thread.start()

    def submit(self, ids: list[int], params: GenerationParams) -> _Job:
        """Queue one request; its tokens arrive on ``job.out``, then ``_END``."""
        job = _Job(ids=list(ids), params=params)
        self._queue.put(job)
        return job

    def _collect(self) -> list[_Job]:
        jobs = [self._queue.get()]
        deadline = jobs[0].arrived + self.options.window_ms / 1000
        while len(jobs) < self.options.max_batch_size:
            try:
                jobs.append(
                    self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                )
            except queue.Empty:
                break
        return jobs

    def _loop(self) -> None:
        while True:
            jobs = [j for j in self._collect() if not j.cancelled.is_set()]
            if not jobs:
                continue
            self.batch_sizes.append(len(jobs))
            try:
                with self.loaded.lock:
                    _run_batch(self.loaded, jobs)
            except BaseException as exc:  # handed to every consumer of this batch
                for job in jobs:
                    job.out.put(exc)
            for job in jobs:
                job.out.put(_END)


_BATCHERS: dict[tuple[int, BatchOptions], tuple[LoadedModel, ModelBatcher]] = {}
_BATCHERS_LOCK = threading.Lock()


def batcher_for(loaded: LoadedModel, options: BatchOptions) -> ModelBatcher:
    """The process-wide batcher of ``loaded`` with these options (made on first use)."""
    key = (id(loaded), options)
    with _BATCHERS_LOCK:
        if key not in _BATCHERS:
            _BATCHERS[key] = (loaded, ModelBatcher(loaded, options))
        return _BATCHERS[key][1]


# --- the decode loop ------------------------------------------------------------
class _Row:
    """Per-request decoding state inside a running batch."""

    def __init__(self, job: _Job, loaded: LoadedModel) -> None:
        import torch

        self.job = job
        p = job.params
        config = loaded.model.generation_config
        self.sample = p.temperature is None or p.temperature > 0
        self.temperature = p.temperature if p.temperature is not None else 0.7
        self.top_k = p.top_k if p.top_k is not None else getattr(config, "top_k", None)
        self.top_p = p.top_p if p.top_p is not None else getattr(config, "top_p", None)
        self.penalty = p.repetition_penalty
        self.stops = list(p.stop or [])
        self.generator: Any = None
        if self.sample:
            self.generator = torch.Generator(device=loaded.device)
            seed = (
                p.seed if p.seed is not None else random.SystemRandom().getrandbits(63)
            )
            self.generator.manual_seed(seed)
        self.seen = torch.tensor(job.ids, dtype=torch.long, device=loaded.device)

    def pick(self, logits: Any) -> int:
        """Choose this row's next token from its float32 logits (1-D)."""
        import torch

        if self.penalty is not None and self.penalty != 1.0:
            picked = logits[self.seen]
            logits = logits.clone()
            logits[self.seen] = torch.where(
                picked < 0, picked * self.penalty, picked / self.penalty
            )
        if not self.sample:
            return int(torch.argmax(logits))
        logits = logits / max(self.temperature, 1e-5)
        if self.top_k:
            kth = torch.topk(logits, min(self.top_k, logits.shape[-1])).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p is not None and self.top_p < 1.0:
            ordered, order = torch.sort(logits, descending=True)
            cumulative = torch.softmax(ordered, dim=-1).cumsum(-1)
            drop = cumulative - torch.softmax(ordered, dim=-1) > self.top_p
            logits = logits.index_fill(0, order[drop], float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def stopped_by_string(self, tokenizer: Any) -> bool:
        if not self.stops:
            return False
        text = tokenizer.decode(self.job.generated)
        return any(s in text for s in self.stops)


def _run_batch(loaded: LoadedModel, jobs: list[_Job]) -> None:
    """Generate ``jobs`` as one left-padded batch; push each new token to its job.

    Raises:
        Exception: whatever the model raises (the caller hands it to each consumer).
    """
    import torch
    from transformers import DynamicCache

    model, tokenizer, device = loaded.model, loaded.tokenizer, loaded.device
    eos = eos_ids(loaded)
    pad = (
        tokenizer.pad_token_id
        if tokenizer.pad_token_id is not None
        else next(iter(eos), 0)
    )
    width = max(len(j.ids) for j in jobs)
    input_ids = torch.full((len(jobs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(jobs), width), dtype=torch.long)
    for i, job in enumerate(jobs):
        input_ids[i, width - len(job.ids) :] = torch.tensor(job.ids)
        mask[i, width - len(job.ids) :] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    rows = [_Row(job, loaded) for job in jobs]
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        while rows:
            out = model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            logits = out.logits[:, -1, :].float()
            keep: list[int] = []
            tokens: list[int] = []
            for i, row in enumerate(rows):
                token = row.pick(logits[i])
                job = row.job
                job.generated.append(token)
                job.out.put([token])
                if row.penalty is not None:
                    row.seen = torch.cat([row.seen, row.seen.new_tensor([token])])
                if token in eos:
                    job.finish_reason = "stop"
                elif len(job.generated) >= job.max_new:
                    job.finish_reason = "length"
                elif job.cancelled.is_set() or row.stopped_by_string(tokenizer):
                    job.finish_reason = "stop"
                else:
                    keep.append(i)
                    tokens.append(token)
            if len(keep) < len(rows):
                if not keep:
                    break
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                mask, positions = mask[index], positions[index]
                rows = [rows[i] for i in keep]
            input_ids = torch.tensor(tokens, dtype=torch.long, device=device)[:, None]
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=-1)
            positions = positions[:, -1:] + 1


# --- the consumer side ----------------------------------------------------------
def stream_batched(
    loaded: LoadedModel, prompt: str, params: GenerationParams, options: BatchOptions
) -> Iterator[RawDelta]:
    """Submit ``prompt`` to the model's batcher and stream its deltas as they come.

    Raises:
        BackendError: the batch failed while generating.
    """
    tokenizer = loaded.tokenizer
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    job = batcher_for(loaded, options).submit(ids, params)
    decoder = IncrementalDecoder(tokenizer, eos_ids(loaded))
    error: BaseException | None = None
    try:
        while (item := job.out.get()) is not _END:
            if isinstance(item, BaseException):
                error = item
                continue
            yield RawDelta(text=decoder.add(item), tokens=len(item))
    finally:
        job.cancelled.set()
    if error is not None:
        raise BackendError(f"generation failed: {error}", backend="hf") from error
    yield RawDelta(
        usage=Usage(prompt_tokens=len(ids), completion_tokens=len(job.generated)),
        finish_reason=job.finish_reason,
    )

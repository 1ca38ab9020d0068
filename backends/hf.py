"""The transformers backend: models in-process, streamed token by token.

Model specs: ``hf:FOLDER_OR_HUB_ID`` and ``gguf:FILE_OR_BUNDLED_NAME``. torch and
transformers are imported only when a model is first used.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from qwen_router.errors import BackendError, ConfigError, ModelCapabilityError
from qwen_router.types import GenerationParams, Message, Usage

from .base import (
    BaseBackend,
    Capabilities,
    GenerateRequest,
    Health,
    RawDelta,
    first_load_ms,
)
from .hf_batching import BatchOptions, stream_batched
from .hf_loading import LoadedModel, load_model, weights_present

__all__ = ["HFBackend"]

DEFAULT_MAX_TOKENS = 512


class HFBackend(BaseBackend):
    """In-process generation with Hugging Face transformers.

    Options (profile ``backends.hf`` / ``backends.gguf``): ``device`` (auto, cpu,
    cuda[:N]), ``dtype`` (auto, float32, float16, bfloat16), ``quantization``
    (8bit / 4bit, CUDA + bitsandbytes only), ``trust_remote_code``, ``batching``
    (concurrent requests to one model share padded batches, see ``hf_batching``)
    with ``batch_window_ms`` and ``max_batch_size``; ``min_pixels`` / ``max_pixels``
    (image sizing for Qwen-VL models, see ``hf_vision``).
    """

    name: ClassVar[str] = "hf"
    capabilities = Capabilities(vision=True, thinking=True, raw_continuation=True, streaming=True)

    def __init__(
        self,
        *,
        kind: str = "hf",
        device: str = "auto",
        dtype: str = "auto",
        quantization: str | None = None,
        trust_remote_code: bool = False,
        batching: bool = False,
        batch_window_ms: float = 15.0,
        max_batch_size: int = 8,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ) -> None:
        if kind not in ("hf", "gguf"):
            raise ConfigError(f"HFBackend kind must be 'hf' or 'gguf', not {kind!r}")
        self.kind = kind
        self.name = kind  # type: ignore[misc]
        self.options = {
            "device": device,
            "dtype": dtype,
            "quantization": quantization,
            "trust_remote_code": trust_remote_code,
        }
        self.vision_options = {"min_pixels": min_pixels, "max_pixels": max_pixels}
        self.batching: BatchOptions | None = None
        if batching:
            self.batching = BatchOptions(
                window_ms=batch_window_ms, max_batch_size=max_batch_size
            )
            self.capabilities = self.capabilities.model_copy(update={"batching": True})

    def load(self, model: str) -> LoadedModel:
        """Load ``model`` now (it is shared by every route and router in the process)."""
        return load_model(self.kind, model, **self.options)

    def prepare(self, request: GenerateRequest) -> float:
        return first_load_ms(self.load(request.model))

    def health(self, model: str) -> Health:
        present, detail = weights_present(self.kind, model)
        return Health(backend=self.kind, model=model, available=present, detail=detail)

    # --- prompt rendering -------------------------------------------------------------
    def render_prompt(self, request: GenerateRequest) -> str:
        return _apply_template(self.load(request.model), request.messages, request.thinking)

    def starts_in_thinking(self, request: GenerateRequest) -> bool:
        return self.render_prompt(request).rstrip().endswith("<think>")

    # --- generation ---------------------------------------------------------------
    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        loaded = self.load(request.model)
        if loaded.processor is not None or any(m.images for m in request.messages):
            yield from self._raw_stream_vision(loaded, request)
            return
        prompt = _apply_template(loaded, request.messages, request.thinking)
        yield from self._run(loaded, prompt, request.params)

    def _raw_stream_vision(self, loaded: LoadedModel, request: GenerateRequest) -> Iterator[RawDelta]:
        if loaded.processor is None:
            raise ModelCapabilityError(
                f"model {request.model} is text-only and cannot read the images in this request",
                hint="serve the vision route with a Qwen2.5-VL / Qwen2-VL model",
                backend=self.kind,
                model=request.model,
            )
        from .hf_vision import VisionOptions, stream_vision

        yield from stream_vision(loaded, request, VisionOptions(**self.vision_options))

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        yield from self._run(self.load(model), prompt, params)

    def _run(
        self, loaded: LoadedModel, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        if self.batching is None or loaded.processor is not None:  # VL: never batched
            return _generate(loaded, prompt, params)
        return stream_batched(loaded, prompt, params, self.batching)


def _plain(messages: list[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.text} for m in messages]


def _apply_template(loaded: LoadedModel, messages: list[Message], thinking: bool | None) -> str:
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"model {loaded.source} has no chat template", hint="use an instruct/chat model"
        )
    kwargs: dict[str, Any] = {}
    if thinking is not None:
        kwargs["enable_thinking"] = thinking
    return str(
        tokenizer.apply_chat_template(
            _plain(messages), tokenize=False, add_generation_prompt=True, **kwargs
        )
    )


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


class _IncrementalDecoder:
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


def _sampling_kwargs(params: GenerationParams, loaded: LoadedModel) -> dict[str, Any]:
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


def _eos_ids(loaded: LoadedModel) -> set[int]:
    ids: set[int] = set()
    eos = loaded.model.generation_config.eos_token_id
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


def _generate(loaded: LoadedModel, prompt: str, params: GenerationParams) -> Iterator[RawDelta]:
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
    kwargs = _sampling_kwargs(params, loaded)
    eos = _eos_ids(loaded)
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
    decoder = _IncrementalDecoder(tokenizer, eos)
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

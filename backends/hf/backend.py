"""The transformers backend: models in-process, streamed token by token.

Model specs: ``hf:FOLDER_OR_HUB_ID`` and ``gguf:FILE_OR_BUNDLED_NAME``. torch and
transformers are imported only when a model is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qwen_router.errors import ConfigError, ModelCapabilityError
from qwen_router.types import GenerationParams

from ..base import (
    Capabilities,
    GenerateRequest,
    Health,
    RawDelta,
    RawPromptBackend,
    first_load_ms,
)
from ..tool_templates import check_tool_request, template_messages, template_tools
from .batching import BatchOptions, stream_batched
from .generation import generate_text
from .loading import load_model, unload_model, weights_present
from .model import LoadedModel

__all__ = ["HFBackend"]

class HFBackend(RawPromptBackend):
    """In-process generation with Hugging Face transformers.

    Options (profile ``backends.hf`` / ``backends.gguf``): ``device`` (auto, cpu,
    cuda[:N]), ``dtype`` (auto, float32, float16, bfloat16), ``quantization``
    (8bit / 4bit, CUDA + bitsandbytes only), ``trust_remote_code``, ``batching``
    (concurrent requests to one model share padded batches, see ``hf_batching``)
    with ``batch_window_ms`` and ``max_batch_size``; ``min_pixels`` / ``max_pixels``
    (image sizing for Qwen-VL models, see ``hf_vision``).
    """

    name: ClassVar[str] = "hf"
    capabilities = Capabilities(
        vision=True, thinking=True, streaming=True, tools=True, in_process=True
    )

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

    def prompt_size(self, request: GenerateRequest) -> tuple[int, int] | None:
        """``(prompt tokens, max_position_embeddings)``; ``None`` for vision models."""
        loaded = self.load(request.model)
        context = getattr(loaded.model.config, "max_position_embeddings", None)
        if loaded.processor is not None or not isinstance(context, int):
            return None
        prompt = _apply_template(loaded, request, self.kind)
        ids = loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return len(ids), context

    def unload(self, model: str) -> None:
        """Drop ``model`` from this process's model store (freed once unused)."""
        unload_model(self.kind, model)

    # --- prompt rendering -------------------------------------------------------------
    def render_prompt(self, request: GenerateRequest) -> str:
        return _apply_template(self.load(request.model), request, self.kind)

    def parses_tool_calls(self, request: GenerateRequest) -> bool:
        return bool(request.tools)

    def starts_in_thinking(self, request: GenerateRequest) -> bool:
        return self.render_prompt(request).rstrip().endswith("<think>")

    # --- generation ---------------------------------------------------------------
    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        loaded = self.load(request.model)
        if loaded.processor is not None or any(m.images for m in request.messages):
            if request.tools:
                raise ModelCapabilityError(
                    f"tools with a vision model are not supported on {self.kind}",
                    hint="send tools without images, or serve the route on Ollama/vLLM",
                    backend=self.kind,
                    model=request.model,
                )
            yield from self._raw_stream_vision(loaded, request)
            return
        prompt = _apply_template(loaded, request, self.kind)
        yield from self._run(loaded, prompt, request.params)

    def _raw_stream_vision(self, loaded: LoadedModel, request: GenerateRequest) -> Iterator[RawDelta]:
        if loaded.processor is None:
            raise ModelCapabilityError(
                f"model {request.model} is text-only and cannot read the images in this request",
                hint="serve the vision route with a Qwen2.5-VL / Qwen2-VL model",
                backend=self.kind,
                model=request.model,
            )
        from .vision import VisionOptions, stream_vision

        yield from stream_vision(loaded, request, VisionOptions(**self.vision_options))

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        yield from self._run(self.load(model), prompt, params)

    def _run(
        self, loaded: LoadedModel, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        if self.batching is None or loaded.processor is not None:  # VL: never batched
            return generate_text(loaded, prompt, params)
        return stream_batched(loaded, prompt, params, self.batching)


def _apply_template(loaded: LoadedModel, request: GenerateRequest, backend: str = "hf") -> str:
    """The model's own chat template over the request (its tools included).

    Raises:
        ConfigError: the model has no chat template.
        ModelCapabilityError: tools for a template that takes none (see
            ``check_tool_request``).
    """
    tokenizer = loaded.tokenizer
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise ConfigError(
            f"model {loaded.source} has no chat template", hint="use an instruct/chat model"
        )
    check_tool_request(request, backend=backend, template=str(template))
    kwargs: dict[str, Any] = {}
    if request.thinking is not None:
        kwargs["enable_thinking"] = request.thinking
    if request.tools:
        kwargs["tools"] = template_tools(request.tools)
    return str(
        tokenizer.apply_chat_template(
            template_messages(request.messages),
            tokenize=False,
            add_generation_prompt=True,
            **kwargs,
        )
    )

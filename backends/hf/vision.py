"""Qwen2.5-VL / Qwen2-VL on transformers: images through the model's own processor.

:mod:`qwen_router.backends.hf.loading` calls :func:`is_vision_model` on every folder it
loads and hands VL models to :func:`load_vision_model`; :class:`HFBackend` then sends
their requests to :func:`stream_vision`. Images are the PIL images the guard already
decoded (:func:`qwen_router.images.model_images` reuses them), resized by the processor
between ``min_pixels`` and ``max_pixels`` (backend options, else the model's
``preprocessor_config.json``). Generation streams through ``hf.generate_encoded``, the
same loop as text models.

Without torchvision, transformers cannot build the Qwen-VL *video* processor, so
``AutoProcessor`` fails; images do not need it, and the processor is then built from
the PIL image processor and the tokenizer alone.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwen_router.errors import ImageError, ModelNotFound
from qwen_router.images import model_images
from qwen_router.types import ImagePart, Message

from ..base import GenerateRequest, RawDelta
from ..control_tokens import escape_control_tokens
from .generation import generate_encoded
from .model import LoadedModel

__all__ = [
    "VISION_MODEL_TYPES",
    "VisionOptions",
    "is_vision_model",
    "load_vision_model",
    "stream_vision",
]

VISION_MODEL_TYPES = frozenset({"qwen2_5_vl", "qwen2_vl"})
_VISION_ARCHITECTURES = frozenset(
    {"Qwen2_5_VLForConditionalGeneration", "Qwen2VLForConditionalGeneration"}
)


@dataclass(frozen=True)
class VisionOptions:
    """Per-backend image sizing; ``None`` keeps the model's processor defaults."""

    min_pixels: int | None = None
    max_pixels: int | None = None


def _config_dict(source: str, trust_remote_code: bool) -> dict[str, Any]:
    local = Path(source) / "config.json"
    if local.is_file():
        data = json.loads(local.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    try:
        from transformers import AutoConfig

        return dict(
            AutoConfig.from_pretrained(
                source, trust_remote_code=trust_remote_code
            ).to_dict()
        )
    except Exception:  # not resolvable here: the regular loader reports it
        return {}


def is_vision_model(source: str, *, trust_remote_code: bool = False) -> bool:
    """Whether the model at ``source`` (folder or hub id) is a Qwen2-VL / Qwen2.5-VL.

    Raises:
        Nothing: an unreadable config counts as "not a vision model".
    """
    config = _config_dict(source, trust_remote_code)
    architectures = config.get("architectures") or []
    return config.get("model_type") in VISION_MODEL_TYPES or any(
        a in _VISION_ARCHITECTURES for a in architectures
    )


def _images_only(base: type) -> type:
    """``base`` (a Qwen-VL processor class) without its video processor."""

    class ImagesOnlyProcessor(base):  # type: ignore[misc, valid-type]
        @classmethod
        def get_attributes(cls) -> list[str]:
            return [a for a in super().get_attributes() if a != "video_processor"]

    ImagesOnlyProcessor.__name__ = ImagesOnlyProcessor.__qualname__ = base.__name__
    return ImagesOnlyProcessor


def _chat_template(source: str, tokenizer: Any) -> str | None:
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.chat_template)
    folder = Path(source)
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        data = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))
        return data.get("chat_template") if isinstance(data, dict) else None
    return None


def _load_processor(source: str, model_type: str, trust_remote_code: bool) -> Any:
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    if importlib.util.find_spec("torchvision") is not None:
        try:
            return AutoProcessor.from_pretrained(
                source, trust_remote_code=trust_remote_code
            )
        except ImportError:
            pass  # a torchvision that cannot be imported: build the images-only one
    from transformers import Qwen2_5_VLProcessor, Qwen2VLProcessor

    base = Qwen2VLProcessor if model_type == "qwen2_vl" else Qwen2_5_VLProcessor
    image_processor = AutoImageProcessor.from_pretrained(
        source, trust_remote_code=trust_remote_code
    )
    tokenizer = AutoTokenizer.from_pretrained(
        source, trust_remote_code=trust_remote_code
    )
    return _images_only(base)(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=_chat_template(source, tokenizer),
    )


def load_vision_model(
    name: str,
    source: str,
    *,
    device: str,
    dtype: Any,
    quantization_config: Any = None,
    trust_remote_code: bool = False,
    start: float | None = None,
) -> LoadedModel:
    """Load a Qwen-VL model and its processor (``LoadedModel.processor`` is set).

    Raises:
        ModelNotFound: the weights or processor files cannot be read.
    """
    start = time.perf_counter() if start is None else start
    from transformers import AutoModelForImageTextToText

    model_type = str(
        _config_dict(source, trust_remote_code).get("model_type", "qwen2_5_vl")
    )
    try:
        processor = _load_processor(source, model_type, trust_remote_code)
        model = AutoModelForImageTextToText.from_pretrained(
            source,
            dtype=dtype,
            quantization_config=quantization_config,
            trust_remote_code=trust_remote_code,
            **({"device_map": device} if quantization_config is not None else {}),
        )
    except OSError as exc:
        raise ModelNotFound(
            f"cannot load vision model {name!r}: {str(exc).splitlines()[0]}",
            hint="give a local folder with the processor files, or allow hub access",
            backend="hf",
            model=name,
        ) from None
    if quantization_config is None:
        model.to(device)
    model.eval()
    return LoadedModel(
        model=model,
        tokenizer=processor.tokenizer,
        source=source,
        device=device,
        load_ms=(time.perf_counter() - start) * 1000,
        processor=processor,
    )


def _conversation(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message.content, str):
            text = escape_control_tokens(message.content)
            out.append({"role": message.role, "content": text})
            continue
        parts = [
            {"type": "image"}
            if isinstance(p, ImagePart)
            else {"type": "text", "text": escape_control_tokens(p.text)}
            for p in message.content
        ]
        out.append({"role": message.role, "content": parts})
    return out


def _encode(
    loaded: LoadedModel, request: GenerateRequest, options: VisionOptions
) -> Any:
    processor = loaded.processor
    images = [d.image for d in model_images(request.messages)]
    prompt = processor.apply_chat_template(
        _conversation(request.messages), tokenize=False, add_generation_prompt=True
    )
    size = {
        k: v
        for k, v in (
            ("shortest_edge", options.min_pixels),
            ("longest_edge", options.max_pixels),
        )
        if v is not None
    }
    kwargs: dict[str, Any] = (
        {"images_kwargs": {"size": size}} if size and images else {}
    )
    try:
        encoded = processor(
            text=[prompt], images=images or None, return_tensors="pt", **kwargs
        )
    except (
        ValueError
    ) as exc:  # e.g. an aspect ratio over 200, or image tokens in the text
        raise ImageError(
            f"cannot prepare the images for {loaded.source}: {exc}"
        ) from None
    encoded = encoded.to(loaded.device)
    if "pixel_values" in encoded:
        encoded["pixel_values"] = encoded["pixel_values"].to(loaded.model.dtype)
    return encoded


def stream_vision(
    loaded: LoadedModel, request: GenerateRequest, options: VisionOptions
) -> Iterator[RawDelta]:
    """Generate for a VL model, streaming token deltas, then usage and finish reason.

    Raises:
        ImageError: an image the guard did not check fails, or the processor rejects it.
        BackendError: generation itself failed.
    """
    yield from generate_encoded(loaded, _encode(loaded, request, options), request.params)

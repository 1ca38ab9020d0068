"""The transformers backend on a tiny random Qwen2.5-VL, through its real processor."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.hf.vision import is_vision_model
from qwen_router.errors import ImageError, InputError
from qwen_router.types import GenerationParams, Message
from vision_samples import chart, data_url, jpeg_bytes, png_bytes

pytest.importorskip("transformers")

PARAMS = GenerationParams(max_tokens=4, temperature=0.0)


def _request(
    model: Path, *images: Any, text: str = "What does the chart show?"
) -> GenerateRequest:
    parts: list[Any] = [{"type": "image", "image": image} for image in images]
    parts.append({"type": "text", "text": text})
    return GenerateRequest(
        model=str(model),
        messages=[
            Message(role="system", content="You read charts."),
            Message(role="user", content=parts),
        ],
        params=PARAMS,
    )


@pytest.fixture(scope="module")
def backend() -> HFBackend:
    return HFBackend(device="cpu", dtype="float32")


def test_detects_vision_models(tiny_qwen25_vl: Path, tiny_qwen2: Path) -> None:
    assert is_vision_model(str(tiny_qwen25_vl))
    assert not is_vision_model(str(tiny_qwen2))


def test_processor_is_built_without_torchvision(
    backend: HFBackend, tiny_qwen25_vl: Path
) -> None:
    loaded = backend.load(str(tiny_qwen25_vl))
    assert loaded.processor is not None
    assert type(loaded.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    if importlib.util.find_spec("torchvision") is None:
        assert not hasattr(loaded.processor, "video_processor")
    assert backend.capabilities.vision


@pytest.mark.parametrize("form", ["pil", "png", "jpeg", "data_url"])
def test_generates_from_an_image(
    backend: HFBackend, tiny_qwen25_vl: Path, form: str
) -> None:
    image = {
        "pil": chart(),
        "png": png_bytes(),
        "jpeg": jpeg_bytes(),
        "data_url": data_url(png_bytes()),
    }[form]
    with_image = backend.generate(_request(tiny_qwen25_vl, image))
    text_only = backend.generate(
        GenerateRequest(
            model=str(tiny_qwen25_vl),
            messages=[
                Message(role="system", content="You read charts."),
                Message(role="user", content="What does the chart show?"),
            ],
            params=PARAMS,
        )
    )
    assert with_image.usage.completion_tokens == 4
    assert with_image.finish_reason == "length"
    # <|vision_start|> + image pads + <|vision_end|> were added to the prompt
    assert with_image.usage.prompt_tokens > text_only.usage.prompt_tokens + 2


def test_streams_through_the_shared_token_machinery(
    backend: HFBackend, tiny_qwen25_vl: Path
) -> None:
    request = _request(tiny_qwen25_vl, png_bytes(), png_bytes(64, 96))
    request = request.model_copy(
        update={"params": GenerationParams(max_tokens=6, temperature=0.0)}
    )
    chunks = list(backend.stream(request))
    assert chunks[-1].done and chunks[-1].result is not None
    result = chunks[-1].result
    assert "".join(c.text for c in chunks[:-1]) + chunks[-1].text == result.text
    assert result.usage.completion_tokens == 6


def test_min_and_max_pixels_from_the_backend_options(tiny_qwen25_vl: Path) -> None:
    small = HFBackend(
        device="cpu", dtype="float32", min_pixels=28 * 28, max_pixels=28 * 28
    )
    large = HFBackend(
        device="cpu", dtype="float32", min_pixels=28 * 28 * 16, max_pixels=28 * 28 * 16
    )
    image = png_bytes(280, 280)
    few = small.generate(_request(tiny_qwen25_vl, image)).usage.prompt_tokens
    many = large.generate(_request(tiny_qwen25_vl, image)).usage.prompt_tokens
    # one merged 28x28 cell is one <|image_pad|>: 28x28 -> 1 token, 112x112 -> 16
    assert many - few == 15


def test_text_only_model_refuses_images_naming_the_model(
    backend: HFBackend, tiny_qwen2: Path
) -> None:
    with pytest.raises(InputError, match=rf"model {tiny_qwen2} is text-only"):
        backend.generate(_request(tiny_qwen2, png_bytes()))


def test_bad_image_reaching_the_backend_directly(
    backend: HFBackend, tiny_qwen25_vl: Path
) -> None:
    with pytest.raises(ImageError, match="part 0: not a readable image"):
        backend.generate(_request(tiny_qwen25_vl, b"\x89PNG\r\n\x1a\nnot really"))

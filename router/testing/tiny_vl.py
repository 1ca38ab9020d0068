"""A tiny random-weight Qwen2.5-VL with the real Qwen vocabulary, built in seconds.

The vision tower is two blocks of width 32 (patch 14, spatial merge 2); the language
model is two layers of width 32. The folder holds everything
``AutoProcessor.from_pretrained`` needs offline: the tokenizer (the real Qwen BPE with
``<|vision_start|>`` = 151652, ``<|vision_end|>`` = 151653, ``<|image_pad|>`` = 151655),
Qwen2.5-VL's chat template, and an image-processor config with small pixel bounds so a
test image becomes a handful of vision tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

from .tiny import VOCAB_SIZE, build_qwen_tokenizer

__all__ = ["QWEN25_VL_CHAT_TEMPLATE", "build_tiny_qwen25_vl"]

# Qwen2.5-VL-*-Instruct's chat template (chat_template.json on the hub).
QWEN25_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content "
    "or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TINY_MIN_PIXELS = 28 * 28 * 4
TINY_MAX_PIXELS = 28 * 28 * 16


def build_tiny_qwen25_vl(
    path: str | Path,
    *,
    seed: int = 0,
    min_pixels: int = TINY_MIN_PIXELS,
    max_pixels: int = TINY_MAX_PIXELS,
) -> Path:
    """Save a tiny random Qwen2.5-VL (model, tokenizer, processor config) to ``path``.

    Raises:
        ImportError: ``transformers``, ``torch`` or ``qwen-tokenizer`` is not installed.
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
    )

    target = Path(path)
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": VOCAB_SIZE,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": [2, 1, 1],
            },
            "bos_token_id": 151643,
            "eos_token_id": 151645,
            "pad_token_id": 151643,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [1],
        },
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    GenerationConfig(
        eos_token_id=[151645, 151643], pad_token_id=151643
    ).save_pretrained(str(target))
    build_qwen_tokenizer(target, chat_template=QWEN25_VL_CHAT_TEMPLATE)
    _write_processor_files(target, min_pixels=min_pixels, max_pixels=max_pixels)
    return target


def _write_processor_files(target: Path, *, min_pixels: int, max_pixels: int) -> None:
    image_processor = {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2_5_VLProcessor",
        "do_resize": True,
        "do_rescale": True,
        "do_normalize": True,
        "do_convert_rgb": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "rescale_factor": 1 / 255,
        "resample": 3,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "min_pixels": min_pixels,
        "max_pixels": max_pixels,
    }
    (target / "preprocessor_config.json").write_text(
        json.dumps(image_processor, indent=2), encoding="utf-8"
    )
    (target / "chat_template.json").write_text(
        json.dumps({"chat_template": QWEN25_VL_CHAT_TEMPLATE}, indent=2),
        encoding="utf-8",
    )

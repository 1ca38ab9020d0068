"""The models ``init`` chooses from, per route, best first within each size class.

Sizes are billions of parameters (MoE: total, which is what must fit in memory).
``ollama`` is the Ollama library tag (a quantized GGUF, about 4.5 bits a weight
unless the tag says otherwise); ``hf`` the Hugging Face id for transformers or vLLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CATALOG", "Candidate", "SizeClass", "bytes_per_param"]

SizeClass = Literal["edge", "workstation", "gpu", "multi_gpu"]
Quant = Literal["q4", "q8", "fp16", "fp8"]

_BYTES = {"q4": 0.6, "q8": 1.07, "fp8": 1.05, "fp16": 2.0}


def bytes_per_param(quant: Quant) -> float:
    """GB per billion parameters, weights only."""
    return _BYTES[quant]


@dataclass(frozen=True)
class Candidate:
    route: str
    size_class: SizeClass
    params_b: float
    ollama: str | None
    hf: str | None
    note: str = ""


CATALOG: tuple[Candidate, ...] = (
    # edge: 0.5B-3B class, CPU or a small GPU
    Candidate(
        "general",
        "edge",
        2,
        "qwen3.5:2b",
        "Qwen/Qwen3.5-2B",
        "Qwen3.5, hybrid thinking",
    ),
    Candidate("general", "edge", 1.5, "qwen2.5:1.5b", "Qwen/Qwen2.5-1.5B-Instruct"),
    Candidate(
        "code", "edge", 1.5, "qwen2.5-coder:1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    ),
    Candidate(
        "math", "edge", 1.5, "qwen2-math:1.5b", "Qwen/Qwen2.5-Math-1.5B-Instruct"
    ),
    Candidate("vision", "edge", 2, "qwen3-vl:2b", "Qwen/Qwen3-VL-2B-Instruct"),
    Candidate(
        "multilingual",
        "edge",
        1.7,
        "qwen3:1.7b",
        "Qwen/Qwen3-1.7B",
        "thinking on demand",
    ),
    Candidate("multilingual", "edge", 0.8, "qwen3.5:0.8b", "Qwen/Qwen3.5-0.8B"),
    # workstation: no GPU but plenty of RAM: 4B-9B quantized
    Candidate(
        "general",
        "workstation",
        4,
        "qwen3:4b-instruct-2507-q4_K_M",
        "Qwen/Qwen3-4B-Instruct-2507",
    ),
    Candidate(
        "code", "workstation", 7, "qwen2.5-coder:7b", "Qwen/Qwen2.5-Coder-7B-Instruct"
    ),
    Candidate(
        "math",
        "workstation",
        4,
        "qwen3:4b-thinking-2507-q4_K_M",
        "Qwen/Qwen3-4B-Thinking-2507",
        "thinks; budgeted",
    ),
    Candidate("vision", "workstation", 4, "qwen3-vl:4b", "Qwen/Qwen3-VL-4B-Instruct"),
    Candidate("multilingual", "workstation", 9, "qwen3.5:9b", "Qwen/Qwen3.5-9B"),
    # one GPU: 7B-32B (MoE 30B-A3B fits 24 GB at 4 bits)
    Candidate(
        "general",
        "gpu",
        30,
        "qwen3:30b-a3b-instruct-2507-q4_K_M",
        "Qwen/Qwen3-30B-A3B-Instruct-2507",
        "MoE, 3B active",
    ),
    Candidate("general", "gpu", 9, "qwen3.5:9b", "Qwen/Qwen3.5-9B"),
    Candidate(
        "code",
        "gpu",
        30,
        "qwen3-coder:30b",
        "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        "qwen3-coder XML tool calls",
    ),
    Candidate("code", "gpu", 7, "qwen2.5-coder:7b", "Qwen/Qwen2.5-Coder-7B-Instruct"),
    Candidate(
        "math",
        "gpu",
        30,
        "qwen3:30b-a3b-thinking-2507-q4_K_M",
        "Qwen/Qwen3-30B-A3B-Thinking-2507",
        "thinks; budgeted",
    ),
    Candidate("math", "gpu", 8, "qwen3:8b", "Qwen/Qwen3-8B"),
    Candidate("vision", "gpu", 8, "qwen3-vl:8b", "Qwen/Qwen3-VL-8B-Instruct"),
    Candidate("multilingual", "gpu", 27, "qwen3.5:27b", "Qwen/Qwen3.5-27B"),
    Candidate("multilingual", "gpu", 9, "qwen3.5:9b", "Qwen/Qwen3.5-9B"),
    # several GPUs or a remote vLLM: 72B+ and large MoE, FP8 / BF16 on vLLM
    Candidate(
        "general",
        "multi_gpu",
        235,
        None,
        "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
        "MoE, 22B active",
    ),
    Candidate(
        "general", "multi_gpu", 122, None, "Qwen/Qwen3.5-122B-A10B", "MoE, 10B active"
    ),
    Candidate(
        "code", "multi_gpu", 480, None, "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8"
    ),
    Candidate("code", "multi_gpu", 80, None, "Qwen/Qwen3-Coder-Next", "MoE, 3B active"),
    Candidate("math", "multi_gpu", 235, None, "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8"),
    Candidate("math", "multi_gpu", 80, None, "Qwen/Qwen3-Next-80B-A3B-Thinking"),
    Candidate("vision", "multi_gpu", 235, None, "Qwen/Qwen3-VL-235B-A22B-Instruct-FP8"),
    Candidate("vision", "multi_gpu", 72, None, "Qwen/Qwen2.5-VL-72B-Instruct"),
    Candidate("multilingual", "multi_gpu", 397, None, "Qwen/Qwen3.5-397B-A17B-FP8"),
    Candidate("multilingual", "multi_gpu", 122, None, "Qwen/Qwen3.5-122B-A10B"),
)

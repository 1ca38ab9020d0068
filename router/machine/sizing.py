"""From a :class:`~.detect.Machine` to a profile sized to it, with the reasons.

Size classes: ``edge`` (no GPU, under 24 GB RAM: 0.5B-3B models), ``workstation``
(no GPU, more RAM: 4B-9B quantized), ``gpu`` (one GPU or Apple silicon: 7B-32B),
``multi_gpu`` (several GPUs with 140 GB+ free, or a remote vLLM: 72B+ and MoE).
Backends: a remote or multi-GPU machine is served by vLLM (``openai``); otherwise an
Ollama server when one answers (its tags are 4-bit quantized), else transformers
(``hf``, 16-bit, so larger models are skipped when memory requires quantization).
Models an Ollama server already has are preferred when they fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qwen_router.thinking.capabilities import capabilities_of

from .catalog import CATALOG, Candidate, SizeClass, bytes_per_param
from .detect import Machine

__all__ = ["InitPlan", "plan_profile", "size_class"]

ROUTES = ("general", "code", "math", "vision", "multilingual")
_ORDER: tuple[SizeClass, ...] = ("edge", "workstation", "gpu", "multi_gpu")
_OVERHEAD = 1.25  # KV cache and runtime on top of the weights
_TEMPLATES = {r: r for r in ROUTES}
_PARAMS = {
    "general": {"max_tokens": 1024},
    "code": {"max_tokens": 2048, "temperature": 0.2},
    "math": {"max_tokens": 2048},
    "vision": {"max_tokens": 1024, "temperature": 0.2},
    "multilingual": {"max_tokens": 2048},
}
BUDGETS = {"easy": 0, "medium": 512, "hard": 2048}


@dataclass
class InitPlan:
    """The profile ``init`` writes, and why each choice was made."""

    size_class: SizeClass
    backend: str
    memory_gb: float
    profile: dict[str, Any]
    reasons: list[str] = field(default_factory=list)


def size_class(machine: Machine) -> tuple[SizeClass, float, str]:
    """The machine's class, the memory a model may use (GB), and why."""
    cuda = [g for g in machine.gpus if g.kind == "cuda"]
    if machine.remote_vllm:
        return "multi_gpu", float("inf"), f"remote vLLM at {machine.remote_vllm}"
    if len(cuda) >= 2 and machine.free_vram_gb >= 140:
        free = machine.free_vram_gb
        return "multi_gpu", free, f"{len(cuda)} GPUs, {free:.0f} GB VRAM free"
    if cuda and max(g.free_gb for g in cuda) >= 6:
        free = machine.free_vram_gb if len(cuda) > 1 else cuda[0].free_gb
        names = ", ".join(g.name for g in cuda)
        return "gpu", free, f"GPU {names}: {free:.0f} GB VRAM free"
    if machine.unified_gb >= 16:
        return (
            "gpu",
            machine.unified_gb,
            (f"Apple silicon, {machine.unified_gb:.0f} GB of unified memory usable"),
        )
    usable = machine.ram_gb * 0.5
    if machine.ram_gb >= 24:
        return (
            "workstation",
            usable,
            (f"no GPU; {machine.ram_gb:.0f} GB RAM, {machine.cpu_cores} cores"),
        )
    return "edge", usable, f"edge machine: no GPU, {machine.ram_gb:.0f} GB RAM"


def _need_gb(candidate: Candidate, backend: str) -> float:
    quant = "q4" if backend == "ollama" else "fp16"
    if backend != "ollama" and (candidate.hf or "").upper().endswith("-FP8"):
        quant = "fp8"
    return candidate.params_b * bytes_per_param(quant) * _OVERHEAD


def _pulled(candidate: Candidate, pulled: list[str]) -> bool:
    if candidate.ollama is None:
        return False
    tag = candidate.ollama if ":" in candidate.ollama else f"{candidate.ollama}:latest"
    return tag in pulled


def _candidates(route: str, cls: SizeClass) -> list[Candidate]:
    """This class's candidates for ``route``, then the smaller classes', best first."""
    top = _ORDER.index(cls)
    return [
        c
        for level in reversed(_ORDER[: top + 1])
        for c in CATALOG
        if c.route == route and c.size_class == level
    ]


def _choose(
    route: str, cls: SizeClass, backend: str, memory: float, machine: Machine
) -> tuple[Candidate, str]:
    usable = [
        c
        for c in _candidates(route, cls)
        if (c.ollama if backend == "ollama" else c.hf) is not None
    ]
    fits = [c for c in usable if _need_gb(c, backend) <= memory]
    for c in fits:
        if backend == "ollama" and _pulled(c, machine.ollama_models):
            return c, "already pulled on the Ollama server"
    if fits:
        chosen = fits[0]
        skipped = usable[: usable.index(chosen)]
        why = (
            f"fits in {memory:.0f} GB" if memory != float("inf") else "served remotely"
        )
        if skipped and backend == "hf":
            why += f" at 16 bits ({skipped[0].hf} would need quantization)"
        elif backend == "ollama":
            why += " at 4 bits (the Ollama tag's quantization)"
        return chosen, why
    smallest = min(usable, key=lambda c: c.params_b)
    return smallest, f"nothing fits in {memory:.0f} GB; the smallest model"


def plan_profile(machine: Machine, *, name: str = "machine") -> InitPlan:
    """A profile for ``machine``.

    Raises:
        Nothing.
    """
    cls, memory, why = size_class(machine)
    if cls == "multi_gpu":
        backend = "openai"
        url = machine.remote_vllm or "http://127.0.0.1:8000/v1"
        options: dict[str, Any] = {"base_url": url, "engine": "vllm"}
        how = (
            f"vLLM at {url} (start it with `vllm serve MODEL --reasoning-parser qwen3`)"
        )
    elif machine.ollama_host:
        backend, options = "ollama", {"host": machine.ollama_host}
        how = f"the Ollama server at {machine.ollama_host}"
    else:
        backend, options = "hf", {"device": "auto", "dtype": "auto"}
        how = "transformers in-process (no Ollama server answered)"
    reasons = [f"machine: {why} -> {cls} class", f"backend: {how}"]
    routes: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for route in ROUTES:
        candidate, reason = _choose(route, cls, backend, memory, machine)
        model = candidate.ollama if backend == "ollama" else candidate.hf
        spec = f"{backend}:{model}"
        caps = capabilities_of(spec)
        entry: dict[str, Any] = {
            "model": spec,
            "template": _TEMPLATES[route],
            "params": dict(_PARAMS[route]),
        }
        models[spec] = caps.model_dump(exclude_none=True)
        if route == "math":
            entry["verifiers"] = ["math"]
        if caps.thinking:
            entry["thinking"] = {"mode": "auto", "budget_by_difficulty": dict(BUDGETS)}
        routes[route] = entry
        note = f" ({candidate.note})" if candidate.note else ""
        reasons.append(f"{route}: {spec}{note} - {reason}")
    general = routes["general"]["model"]
    for route, entry in routes.items():
        if route != "general" and entry["model"] != general and route != "vision":
            entry["fallbacks"] = [general]
    profile = {
        "name": name,
        "description": f"Sized by `qwen-router init` for this machine ({cls}).",
        "backends": {backend: options},
        "routes": routes,
        "models": models,
    }
    return InitPlan(cls, backend, memory, profile, reasons)

"""What this machine has: RAM, CPU cores, GPUs and their free memory, and the models an
Ollama server already holds. Each probe is optional; a missing tool means "none".

:class:`Machine` is plain data, so ``init`` is tested with simulated machines
(``Machine.model_validate({...})``) as well as this one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Gpu", "Machine", "detect_machine", "ollama_models"]

_GIB = 1024**3


class Gpu(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: Literal["cuda", "mps"] = "cuda"
    total_gb: float = Field(ge=0)
    free_gb: float = Field(ge=0)


class Machine(BaseModel):
    """A machine description, detected or written by hand for a test."""

    model_config = ConfigDict(extra="forbid")
    ram_gb: float = Field(ge=0)
    cpu_cores: int = Field(ge=1)
    gpus: list[Gpu] = Field(default_factory=list)
    ollama_host: str | None = None  # a reachable Ollama server
    ollama_models: list[str] = Field(default_factory=list)  # tags it has pulled
    remote_vllm: str | None = None  # base URL of a remote OpenAI-compatible server

    @property
    def free_vram_gb(self) -> float:
        return sum(g.free_gb for g in self.gpus if g.kind == "cuda")

    @property
    def unified_gb(self) -> float:
        """Apple silicon: the GPU shares system memory (about 3/4 usable)."""
        return self.ram_gb * 0.75 if any(g.kind == "mps" for g in self.gpus) else 0.0


def _ram_gb() -> float:
    try:
        import psutil

        return float(psutil.virtual_memory().total) / _GIB
    except ImportError:
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return float(pages * size) / _GIB
    except (ValueError, OSError, AttributeError):
        return 0.0


def _torch_gpus() -> list[Gpu] | None:
    """GPUs through torch when it is installed (None: torch is not)."""
    try:
        import torch
    except ImportError:
        return None
    gpus: list[Gpu] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            gpus.append(
                Gpu(
                    name=torch.cuda.get_device_name(i),
                    total_gb=total / _GIB,
                    free_gb=free / _GIB,
                )
            )
    mps = getattr(torch.backends, "mps", None)
    if not gpus and mps is not None and mps.is_available():
        gpus.append(Gpu(name="Apple GPU (MPS)", kind="mps", total_gb=0, free_gb=0))
    return gpus


def _nvidia_smi_gpus() -> list[Gpu]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    query = "--query-gpu=name,memory.total,memory.free"
    try:
        out = subprocess.run(
            [exe, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(out: str) -> list[Gpu]:
    """GPUs from ``nvidia-smi --query-gpu=name,memory.total,memory.free`` CSV (MiB)."""
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        try:
            total, free = float(parts[1]) / 1024, float(parts[2]) / 1024
        except ValueError:
            continue
        gpus.append(Gpu(name=parts[0], total_gb=total, free_gb=free))
    return gpus


def ollama_models(host: str, *, timeout: float = 2.0) -> list[str] | None:
    """The tags an Ollama server has (``/api/tags``), or None when none answers.

    Raises:
        Nothing.
    """
    import httpx  # only `init` probes Ollama; other commands skip httpx's import

    try:
        reply = httpx.get(f"{host.rstrip('/')}/api/tags", timeout=timeout)
        reply.raise_for_status()
        data = reply.json()
    except (httpx.HTTPError, ValueError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return None
    return [str(m.get("name") or m.get("model")) for m in models if isinstance(m, dict)]


def detect_machine(
    *, ollama_host: str | None = None, remote_vllm: str | None = None
) -> Machine:
    """This machine: torch for GPUs when installed, else ``nvidia-smi``.

    Raises:
        Nothing: every probe that fails reports nothing.
    """
    gpus = _torch_gpus()
    if not gpus:
        gpus = _nvidia_smi_gpus()
    host = ollama_host or "http://127.0.0.1:11434"
    pulled = ollama_models(host)
    return Machine(
        ram_gb=round(_ram_gb(), 1),
        cpu_cores=os.cpu_count() or 1,
        gpus=gpus,
        ollama_host=host if pulled is not None else None,
        ollama_models=pulled or [],
        remote_vllm=remote_vllm,
    )

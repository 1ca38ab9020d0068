"""Whether llama.cpp repacks a GGUF's weights into its extra CPU buffer types.

At load, llama.cpp moves quantized weights into extra buffer types: CPU_REPACK (AVX2 and
AVX-512 layouts) and, on CPUs that report AMX, AMX tiles. On x86 machines that report
AMX, cloud VMs among them, the first decode from the AMX buffer can crash the whole
process with a segmentation fault (ggml-org/llama.cpp#20824; seen on this project's CI
machine, a Sapphire Rapids VM, with llama-cpp-python 0.3.36 and the bundled SmolLM2).
``llama-server`` turns repacking off with ``--no-repack``; llama-cpp-python's ``Llama``
has no argument for that field (``llama_model_params.use_extra_bufts``), so
:func:`model_params` sets it on the defaults ``Llama`` starts from while it loads.

The default (:func:`default_repack`) is off where the CPU reports AMX and on elsewhere;
``repack: true`` in the backend's options, or ``QWEN_ROUTER_LLAMACPP_REPACK=1``, turns
it back on. Only standard-library imports here: the bare benchmark scripts and the
server launcher (:mod:`.server`) read it before anything heavy loads.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["REPACK_ENV", "cpu_reports_amx", "default_repack", "model_params"]

REPACK_ENV = "QWEN_ROUTER_LLAMACPP_REPACK"
_AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})
_CPUINFO = Path("/proc/cpuinfo")
_PATCH_LOCK = threading.Lock()


def cpu_reports_amx(cpuinfo: Path = _CPUINFO) -> bool:
    """Whether the first ``flags`` line of ``cpuinfo`` names an AMX feature (False
    where there is no such file: not Linux, or not x86)."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return not _AMX_FLAGS.isdisjoint(line.partition(":")[2].split())
    except OSError:
        pass
    return False


@functools.cache
def _host_reports_amx() -> bool:
    return cpu_reports_amx()


def default_repack() -> bool:
    """``QWEN_ROUTER_LLAMACPP_REPACK`` when set (1/true/on or 0/false/off), else
    repacking unless the CPU reports AMX."""
    value = os.environ.get(REPACK_ENV, "").strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    return not _host_reports_amx()


@contextmanager
def model_params(llama_cpp: Any, *, repack: bool) -> Iterator[None]:
    """While the block runs, ``llama_cpp.Llama(...)`` loads with ``use_extra_bufts =
    repack``. Loads in other threads wait for the block (the defaults are module
    state); with ``repack`` true nothing changes."""
    if repack:
        yield
        return
    low_level = llama_cpp.llama_cpp  # the module Llama reads its defaults from
    with _PATCH_LOCK:
        defaults = low_level.llama_model_default_params

        def without_repacking() -> Any:
            params = defaults()
            params.use_extra_bufts = False
            return params

        low_level.llama_model_default_params = without_repacking
        try:
            yield
        finally:
            low_level.llama_model_default_params = defaults

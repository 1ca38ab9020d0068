"""Small sample data sets shipped in the package, so ``qwen-router bench`` runs from a clone.

The full measurement sets live outside the package (``--data PATH``); these samples are
written for qwen-router and only show that a benchmark runs end to end.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from qwen_router.errors import InputError

__all__ = ["SAMPLES", "sample_path"]

SAMPLES = {"math": "math_sample.jsonl", "route": "route_sample.jsonl"}


def sample_path(name: str) -> Path:
    """Path of the shipped sample set ``name`` (``math`` or ``route``).

    Raises:
        InputError: no sample of that name ships with this install.
    """
    try:
        filename = SAMPLES[name]
    except KeyError:
        raise InputError(f"no sample data set {name!r}", hint=f"samples: {', '.join(SAMPLES)}") from None
    path = Path(str(resources.files("qwen_router.bench.data").joinpath(filename)))
    if not path.is_file():
        raise InputError(f"sample data set {name!r} is missing from this install ({path})")
    return path

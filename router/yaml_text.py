"""One YAML reader for profiles, templates and the package's own data files.

PyPI's PyYAML wheels carry libyaml; its C loader reads the shipped tables about ten
times faster than the pure-Python one (the family table: ~50 ms instead of ~500 ms on
a busy 2-core machine). Both are *safe* loaders: no Python objects from tags.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_yaml"]

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The data in ``text``, read with a safe loader (the C one when available).

    Raises:
        yaml.YAMLError: the text is not valid YAML.
    """
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader

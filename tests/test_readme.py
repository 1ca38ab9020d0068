"""The README's Python examples run as written (on the offline `local` profile)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    # Examples that need a running server or a user's own files say so in their text.
    return [b for b in blocks if "Image.open(" not in b and "base_url=" not in b]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(2))
def test_readme_python_example_runs(index: int) -> None:
    blocks = _python_blocks()
    assert len(blocks) >= 2
    exec(compile(blocks[index], f"README.md python block {index}", "exec"), {"__name__": "readme"})

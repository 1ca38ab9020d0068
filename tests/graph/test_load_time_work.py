"""Work that can be done once is done when the router is built, not on its first request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from qwen_router import Router
from qwen_router.thinking.families import default_table
router = Router(sys.argv[1])
print(default_table.cache_info().currsize)
"""


def test_the_family_table_is_read_when_the_router_is_built(tmp_path: Path) -> None:
    profile = tmp_path / "fake.yaml"
    profile.write_text(
        "name: fake\nbackends:\n  fake: {reply: ok, record: false}\n"
        "routes:\n  general: {model: 'fake:m'}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(profile)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    assert out.stdout.strip() == "1", out.stderr  # read once, before any request


def test_yaml_is_read_with_a_safe_loader() -> None:
    import yaml
    from qwen_router.yaml_text import load_yaml

    assert load_yaml("a: [1, 2]\n") == {"a": [1, 2]}
    try:
        load_yaml("!!python/object/apply:os.system ['echo unsafe']")
    except yaml.YAMLError:
        pass
    else:  # pragma: no cover - a safe loader never builds Python objects
        raise AssertionError("the YAML reader built a Python object from a tag")

"""What each entry point imports: a cold CLI or import pays only for its own path.

Every check runs in a fresh interpreter (``sys.modules`` of this pytest process is
full of everything), and prints the module count, so that a regression shows in the
log before it crosses a line. ``langsmith`` and ``rich`` are only forbidden before the
compiled graph exists: ``router.graph`` imports LangGraph, whose
``langchain_core.runnables.base`` imports the langsmith SDK at module level
(langchain-ai/langchain#40236), and httpx (under ``langgraph_sdk``) imports rich when
rich is installed. ``Router.invoke`` steps the same nodes without it
(``qwen_router.graph.steps``), so a cold ``ask`` never loads LangGraph.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "fastapi", "sympy")
TRACING = ("langsmith", "rich")


def _loaded(code: str, tmp_path: Path) -> list[str]:
    """Top-level module names loaded after running ``code`` in a fresh interpreter."""
    out = tmp_path / "modules.json"
    script = (
        f"{code}\nimport json, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = json.loads(out.read_text())
    print(f"{code.splitlines()[-1]!r}: {len(names)} modules")
    return names


def _present(names: list[str], packages: tuple[str, ...]) -> list[str]:
    roots = {n.split(".")[0] for n in names}
    return [p for p in packages if p in roots]


def test_import_router_is_light(tmp_path: Path) -> None:
    names = _loaded("from qwen_router import Router", tmp_path)
    assert _present(names, HEAVY + TRACING + ("langgraph", "langchain_core")) == []


def test_import_package_is_light(tmp_path: Path) -> None:
    names = _loaded("import qwen_router", tmp_path)
    assert _present(names, HEAVY + TRACING + ("langgraph", "httpx", "yaml")) == []


def test_building_the_local_router_loads_no_model_stack_and_no_langgraph(
    tmp_path: Path,
) -> None:
    names = _loaded("from qwen_router import Router\nRouter('local')", tmp_path)
    assert _present(names, HEAVY + TRACING + ("llama_cpp", "uvicorn", "langgraph")) == []


def test_the_compiled_graph_loads_langgraph_on_first_use(tmp_path: Path) -> None:
    names = _loaded("from qwen_router import Router\nRouter('local').graph", tmp_path)
    assert "langgraph" in {n.split(".")[0] for n in names}
    assert _present(names, HEAVY + ("llama_cpp", "uvicorn")) == []


def test_classify_command_skips_graph_and_http(tmp_path: Path) -> None:
    names = _loaded(
        "from qwen_router.cli import main\nmain(['classify', 'hello there'])", tmp_path
    )
    skipped = ("langgraph", "langchain_core", "httpx", "jinja2", "llama_cpp")
    assert _present(names, HEAVY + TRACING + skipped) == []
    # building the parser defines `init`'s options without its machine detection
    machine = [n for n in names if n.startswith("qwen_router.machine.")]
    assert machine == ["qwen_router.machine.arguments"]


@pytest.mark.slow
def test_ask_on_the_bundled_model_loads_only_llama_cpp(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    names = _loaded(
        "from qwen_router.cli import main\n"
        "main(['ask', '--max-tokens', '1', 'Name a colour.'])",
        tmp_path,
    )
    assert "llama_cpp" in {n.split(".")[0] for n in names}
    # Router.stream, stepped without LangGraph (nor the langsmith SDK under it); rich
    # prints the footer
    skipped = ("langsmith", "langgraph", "uvicorn", "starlette", "PIL")
    assert _present(names, HEAVY + skipped) == []

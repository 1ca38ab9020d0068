"""The package's import graph: no cycles, and no private names imported across modules.

Every ``import`` and ``from … import`` in every ``qwen_router`` module counts, lazy ones
inside functions included (a lazy import still makes the two modules depend on each
other). Read with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _package_dirs() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {package: ROOT / folder for package, folder in mapping.items()}


def _modules() -> dict[str, Path]:
    """Module name -> file, for every module the package-dir mapping covers."""
    found: dict[str, Path] = {}
    for package, folder in _package_dirs().items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(module: str, level: int, current: str) -> str:
    if level == 0:
        return module
    base = current.split(".")
    if not _is_package(current):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for each import in ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node.module or "", node.level, name)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in MODULES:  # ``from pkg import submodule``
                    out.append((target, None, node.lineno))
                else:
                    out.append((source, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m in MODULES]


def _graph() -> dict[str, set[str]]:
    return {name: {m for m, _, _ in _imports(name) if m != name} for name in MODULES}


def test_the_walk_sees_the_whole_package() -> None:
    assert {"qwen_router.core", "qwen_router.backends.base", "qwen_router.graph.build"} <= set(
        MODULES
    )
    assert "qwen_router.backends.base" in _graph()["qwen_router.backends.hf.backend"]


def test_no_private_name_is_imported_from_another_module() -> None:
    offenders = [
        f"{name}:{line} imports {imported}.{alias}"
        for name in sorted(MODULES)
        for imported, alias, line in _imports(name)
        if alias is not None and alias.startswith("_") and not alias.startswith("__")
        and imported != name
    ]
    assert offenders == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"c"}}, [["a", "b"]]),
    ],
)
def test_the_cycle_finder_itself(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected

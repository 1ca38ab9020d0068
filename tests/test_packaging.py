"""The wheel ships every subpackage and data file; the README's commands name files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _declared_packages() -> set[str]:
    return set(SETUPTOOLS["packages"])


def _packages_on_disk() -> set[str]:
    found: set[str] = set()
    for package, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(base)
            found.add(".".join((package, *rel.parts)) if rel.parts else package)
    return found


def test_every_subpackage_is_declared_for_the_wheel() -> None:
    missing = _packages_on_disk() - _declared_packages()
    assert not missing, f"add to [tool.setuptools] packages: {sorted(missing)}"


def test_declared_packages_exist() -> None:
    assert not _declared_packages() - _packages_on_disk()


def test_data_files_are_covered_by_package_data() -> None:
    patterns = SETUPTOOLS["package-data"]["*"]
    suffixes = {p.removeprefix("*") for p in patterns if p.startswith("*.")}
    for folder in SETUPTOOLS["package-dir"].values():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".py", ".pyc"}:
                assert path.suffix in suffixes or path.name in patterns, (
                    f"{path.relative_to(ROOT)} would be left out of the wheel"
                )


def test_every_dependency_has_an_upper_bound() -> None:
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        requirements += [r for r in items if not r.startswith("qwen-router[")]
    for requirement in requirements:
        assert re.search(r"(<|==)", requirement), f"{requirement!r} has no upper bound"


def test_constraints_pin_exact_versions() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    loose = [line for line in lines if "==" not in line]
    assert not loose, f"constraints must pin with ==: {loose}"
    names = {line.split("==")[0].lower().split("[")[0].replace("_", "-") for line in lines}
    assert {"torch", "llama-cpp-python", "pytest", "schemathesis"} <= names


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -c constraints.txt -e ".[test,llamacpp]" && python -m pytest -q'
    assert command in readme
    assert command in ci

"""The verifier registry: code registration, entry-point plugins, profile-time checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from qwen_router.errors import ConfigError
from qwen_router.tools.verifiers import (
    check_verifier,
    get_verifier,
    register_verifier,
    unregister_verifier,
    verifier_names,
)
from qwen_router.types import Verification


def _always(status: str):
    def verifier(
        question: str, answer: str, reference: str | None = None
    ) -> Verification:
        return Verification(
            status=status, verifier="demo", explanation=f"{question}|{answer}"
        )

    return verifier


def test_register_by_code_and_look_up() -> None:
    register_verifier("demo-ok", _always("verified"))
    try:
        assert "demo-ok" in verifier_names()
        check_verifier("demo-ok")
        result = get_verifier("demo-ok")("q", "a")
        assert (result.status, result.explanation) == ("verified", "q|a")
    finally:
        unregister_verifier("demo-ok")
    assert "demo-ok" not in verifier_names()


def test_factory_is_built_once_on_first_use() -> None:
    built: list[int] = []

    def factory():
        built.append(1)
        return _always("refuted")

    register_verifier("demo-factory", factory, factory=True)
    try:
        assert built == []  # nothing built at registration
        first, second = get_verifier("demo-factory"), get_verifier("demo-factory")
        assert first is second and built == [1]
        assert first("q", "a").status == "refuted"
    finally:
        unregister_verifier("demo-factory")


def test_unknown_name_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'nope'") as info:
        get_verifier("nope")
    assert "math" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="'nope'"):
        check_verifier("nope")


def test_duplicate_names_need_replace() -> None:
    register_verifier("demo-dup", _always("verified"))
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register_verifier("demo-dup", _always("refuted"))
        register_verifier("demo-dup", _always("refuted"), replace=True)
        assert get_verifier("demo-dup")("q", "a").status == "refuted"
    finally:
        unregister_verifier("demo-dup")


def test_missing_requirement_is_reported_without_importing() -> None:
    register_verifier(
        "demo-needs",
        "no_such_module_xyz:verify",
        requires=("no_such_module_xyz",),
        extra="x",
    )
    try:
        with pytest.raises(ConfigError, match="no_such_module_xyz") as info:
            check_verifier("demo-needs")
        assert "qwen-router[x]" in (info.value.hint or "")
        with pytest.raises(ConfigError, match="could not be loaded"):
            get_verifier("demo-needs")
    finally:
        unregister_verifier("demo-needs")


def test_bad_targets_are_rejected() -> None:
    with pytest.raises(ConfigError):
        register_verifier("demo-bad", "not a reference")
    with pytest.raises(ConfigError):
        register_verifier("", _always("verified"))


def test_the_math_verifier_is_registered_like_a_plugin() -> None:
    pytest.importorskip("sympy")
    from qwen_router.tools.math import verify

    check_verifier("math")
    assert get_verifier("math") is verify


def test_entry_point_plugin_is_found_and_loaded_lazily(tmp_path: Path) -> None:
    (tmp_path / "demo_plugin_mod.py").write_text(
        textwrap.dedent(
            """
            from qwen_router.types import Verification
            LOADED = True

            class UnitsVerifier:
                def __call__(self, question, answer, reference=None):
                    return Verification(status="unverifiable", verifier="units", explanation="plugin")
            """
        )
    )
    dist = tmp_path / "demo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: demo-plugin\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[qwen_router.verifiers]\nunits = demo_plugin_mod:UnitsVerifier\n"
    )
    code = textwrap.dedent(
        """
        import json, sys
        from qwen_router.tools.verifiers import check_verifier, get_verifier, verifier_names
        names = verifier_names()
        check_verifier("units")
        imported_before = "demo_plugin_mod" in sys.modules
        result = get_verifier("units")("q", "a")
        print(json.dumps({"names": names, "before": imported_before,
                          "explanation": result.explanation}))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert "units" in data["names"] and "math" in data["names"]
    assert data["before"] is False  # listed without importing the plugin
    assert data["explanation"] == "plugin"

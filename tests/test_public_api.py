"""The public surface is declared once, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import qwen_router


def test_all_names_resolve() -> None:
    for name in qwen_router.__all__:
        assert getattr(qwen_router, name) is not None, name


def test_all_is_sorted_and_unique() -> None:
    names = [n for n in qwen_router.__all__ if n != "__version__"]
    assert len(names) == len(set(names))
    assert names == sorted(names, key=str.lower) or names == sorted(names)


def test_import_is_light() -> None:
    code = (
        "import sys, qwen_router\n"
        "heavy = [m for m in ('torch', 'transformers', 'sympy', 'fastapi', 'rich', "
        "'langgraph', 'PIL', 'ollama', 'openai') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_error_tree() -> None:
    from qwen_router import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), qwen_router.RouterError)
    assert errors.BackendUnavailable("x").retryable
    assert errors.BackendTimeout("x").retryable
    assert not errors.ModelNotFound("x").retryable
    assert errors.BackendResponseError("x", status_code=503).retryable
    assert not errors.BackendResponseError("x", status_code=400).retryable
    assert str(errors.ConfigError("bad", hint="fix it")) == "bad (fix it)"

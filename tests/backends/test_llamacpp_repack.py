"""llama.cpp's weight repacking: off where the CPU reports AMX (whose buffers crash
the first decode on such VMs, the project's CI machine among them), on elsewhere;
the backend, the server launcher and the flag llama.cpp reads all agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from qwen_router.backends.llamacpp.repack import (
    REPACK_ENV,
    cpu_reports_amx,
    default_repack,
    model_params,
)

FLAGS = "flags\t\t: fpu vme de pse avx2 avx512f avx512_vnni"


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Xeon\n{flags}\n\n", "ascii")
    return path


def test_amx_is_read_from_the_flags_line(tmp_path: Path) -> None:
    assert cpu_reports_amx(_cpuinfo(tmp_path, FLAGS + " amx_bf16 amx_tile")) is True
    assert cpu_reports_amx(_cpuinfo(tmp_path, FLAGS)) is False
    assert cpu_reports_amx(_cpuinfo(tmp_path, "bugs\t: amx_tile")) is False
    assert cpu_reports_amx(tmp_path / "missing") is False


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("on", True), ("0", False), ("false", False)]
)
def test_the_environment_overrides_the_cpu(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv(REPACK_ENV, value)
    assert default_repack() is expected


def test_by_default_repacking_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REPACK_ENV, raising=False)
    assert default_repack() is not cpu_reports_amx()


def test_model_params_sets_the_flag_llama_cpp_loads_with() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True
    with model_params(llama_cpp, repack=False):
        assert llama_cpp.llama_model_default_params().use_extra_bufts is True
        low = llama_cpp.llama_cpp.llama_model_default_params()
        assert low.use_extra_bufts is False
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True
    with model_params(llama_cpp, repack=True):
        assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True


def test_the_backend_takes_the_option() -> None:
    pytest.importorskip("llama_cpp")
    from qwen_router.backends.llamacpp import LlamaCppBackend
    from qwen_router.backends.registry import create_backend

    assert LlamaCppBackend().repack is default_repack()
    backend = create_backend("llamacpp", {"repack": True})
    assert isinstance(backend, LlamaCppBackend) and backend.repack is True


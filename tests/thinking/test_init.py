"""``qwen-router init`` on simulated machines (edge, CPU workstation, one GPU, Apple
silicon, multi-GPU, remote vLLM): every written profile loads; models already pulled
win; the machine detection reads a real Ollama ``/api/tags`` and nvidia-smi output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from qwen_router.cli import main
from qwen_router.machine.catalog import CATALOG
from qwen_router.machine.detect import Machine, detect_machine, parse_nvidia_smi
from qwen_router.machine.sizing import plan_profile
from qwen_router.profiles import load_profile
from qwen_router.thinking.families import family_for

MACHINES: dict[str, dict[str, Any]] = {
    "edge": {"ram_gb": 8, "cpu_cores": 4},
    "workstation": {
        "ram_gb": 64,
        "cpu_cores": 16,
        "ollama_host": "http://127.0.0.1:11434",
        "ollama_models": ["qwen3.5:9b"],
    },
    "gpu": {
        "ram_gb": 64,
        "cpu_cores": 16,
        "gpus": [{"name": "RTX 4090", "total_gb": 24, "free_gb": 22.5}],
        "ollama_host": "http://127.0.0.1:11434",
        "ollama_models": ["qwen3-coder:30b"],
    },
    "gpu-hf": {
        "ram_gb": 32,
        "cpu_cores": 8,
        "gpus": [{"name": "RTX 4060 Ti", "total_gb": 16, "free_gb": 15}],
    },
    "apple": {
        "ram_gb": 36,
        "cpu_cores": 12,
        "gpus": [
            {"name": "Apple GPU (MPS)", "kind": "mps", "total_gb": 0, "free_gb": 0}
        ],
        "ollama_host": "http://127.0.0.1:11434",
    },
    "multi_gpu": {
        "ram_gb": 1024,
        "cpu_cores": 96,
        "gpus": [{"name": "H100", "total_gb": 80, "free_gb": 79} for _ in range(8)],
    },
    "remote": {"ram_gb": 8, "cpu_cores": 2, "remote_vllm": "http://gpu-box:8000/v1"},
}

EXPECTED = {  # class, backend, what general is served by
    "edge": ("edge", "hf", "Qwen/Qwen2.5-1.5B-Instruct"),  # 3.5-2B: 5 GB at 16 bits
    "workstation": ("workstation", "ollama", "qwen3:4b-instruct-2507-q4_K_M"),
    "gpu": ("gpu", "ollama", "qwen3:30b-a3b-instruct-2507-q4_K_M"),
    "gpu-hf": ("gpu", "hf", "Qwen/Qwen3-4B-Instruct-2507"),  # 30B / 9B need 4 bits
    "apple": ("gpu", "ollama", "qwen3:30b-a3b-instruct-2507-q4_K_M"),
    "multi_gpu": ("multi_gpu", "openai", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"),
    "remote": ("multi_gpu", "openai", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"),
}


@pytest.mark.parametrize("name", list(MACHINES))
def test_init_writes_a_valid_profile(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = tmp_path / "machine.yaml"
    machine.write_text(yaml.safe_dump(MACHINES[name]), encoding="utf-8")
    out = tmp_path / "profile.yaml"
    assert main(["init", "--machine", str(machine), "--output", str(out)]) == 0
    why = capsys.readouterr().err
    profile = load_profile(out)  # validates, and resolves against the registry
    cls, backend, general = EXPECTED[name]
    assert f"-> {cls} class" in why and f"wrote {out}" in why
    assert profile.routes["general"].model == f"{backend}:{general}"
    assert set(profile.backends) == {backend}
    for route in profile.routes.values():  # every route has its model's capabilities
        assert route.model in profile.models
    assert profile.models[profile.routes["vision"].model].vision is True
    assert "math" in profile.routes["math"].verifiers


def test_models_are_sized_to_memory() -> None:
    edge = plan_profile(Machine.model_validate(MACHINES["edge"]))
    big = plan_profile(Machine.model_validate(MACHINES["multi_gpu"]))
    for plan, low, high in ((edge, 0.5, 3), (big, 72, 500)):
        for route in plan.profile["routes"].values():
            name = route["model"].split(":", 1)[1]
            size = next(c.params_b for c in CATALOG if name in (c.hf, c.ollama))
            assert low <= size <= high, (route["model"], size)
    gpu_hf = plan_profile(Machine.model_validate(MACHINES["gpu-hf"]))
    assert any("would need quantization" in r for r in gpu_hf.reasons)


def test_pulled_models_are_preferred() -> None:
    plan = plan_profile(Machine.model_validate(MACHINES["gpu"]))
    assert plan.profile["routes"]["code"]["model"] == "ollama:qwen3-coder:30b"
    assert any("code:" in r and "already pulled" in r for r in plan.reasons)
    station = plan_profile(Machine.model_validate(MACHINES["workstation"]))
    assert station.profile["routes"]["multilingual"]["model"] == "ollama:qwen3.5:9b"


def test_thinking_routes_get_difficulty_budgets() -> None:
    plan = plan_profile(Machine.model_validate(MACHINES["gpu"]))
    for route in plan.profile["routes"].values():
        spec = route["model"]
        backend, _, name = spec.partition(":")
        thinks = family_for(backend, name).thinking.switch in (
            "template_kwarg",
            "always",
        )
        assert ("thinking" in route) == thinks, spec


def test_dry_run_prints_yaml_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = tmp_path / "m.yaml"
    machine.write_text(yaml.safe_dump(MACHINES["apple"]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--machine", str(machine), "--dry-run"]) == 0
    captured = capsys.readouterr()
    data = yaml.safe_load(captured.out)
    assert data["routes"]["general"]["model"].startswith("ollama:")
    assert captured.out.startswith("# Written by `qwen-router init`.")
    assert "unified memory" in captured.err
    assert not (tmp_path / "qwen-router.yaml").exists()


def test_existing_file_and_bad_machine_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = tmp_path / "m.yaml"
    machine.write_text(yaml.safe_dump(MACHINES["edge"]), encoding="utf-8")
    out = tmp_path / "p.yaml"
    out.write_text("keep me", encoding="utf-8")
    assert main(["init", "--machine", str(machine), "--output", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep me"
    machine.write_text("ram_gb: lots\ncpu_cores: 1\n", encoding="utf-8")
    assert main(["init", "--machine", str(machine), "--dry-run"]) == 2
    assert "not a machine description" in capsys.readouterr().err


def test_detection_reads_ollama_tags(ollama_qwen3: Any) -> None:
    machine = detect_machine(ollama_host=ollama_qwen3.host)
    assert machine.ollama_host == ollama_qwen3.host
    assert "qwen3:tiny" in machine.ollama_models
    assert machine.ram_gb > 0 and machine.cpu_cores >= 1
    nobody = detect_machine(ollama_host="http://127.0.0.1:9")
    assert nobody.ollama_host is None and nobody.ollama_models == []


def test_nvidia_smi_output_is_parsed() -> None:
    gpus = parse_nvidia_smi("NVIDIA H200, 143771, 140000\nNVIDIA H200, 143771, 1024\n")
    assert [g.name for g in gpus] == ["NVIDIA H200", "NVIDIA H200"]
    assert round(gpus[0].total_gb) == 140 and gpus[1].free_gb == 1.0
    assert parse_nvidia_smi("garbage\n") == []

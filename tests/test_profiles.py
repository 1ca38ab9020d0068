from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from qwen_router.errors import ConfigError
from qwen_router.profiles import Profile, list_profiles, load_profile, parse_model_spec


def test_shipped_profiles_validate() -> None:
    assert {"local", "ollama", "hf"} <= set(list_profiles())
    for name in list_profiles():
        profile = load_profile(name)
        assert {"general", "code", "math", "vision", "multilingual"} <= set(profile.routes)
    assert load_profile(None).name == "local"


def test_local_profile_is_offline_bundled_model() -> None:
    from qwen_router.profiles import resolve_preferences

    profile = load_profile("local")
    bundled = "smollm2-135m-instruct"
    for route in profile.routes.values():
        # llama.cpp first when installed, transformers as its fallback
        assert route.model in {f"gguf:{bundled}", f"llamacpp:{bundled}"}
        if route.model.startswith("llamacpp:"):
            assert route.fallbacks[0] == f"gguf:{bundled}"
    assert profile.routes["math"].verifiers == ["math"]
    assert profile.prefer == {"gguf": ["llamacpp"]}
    raw = Profile.model_validate(
        yaml.safe_load(files("qwen_router.profile_data").joinpath("local.yaml").read_text())
    )
    without = resolve_preferences(raw, lambda _name: False)
    assert {r.model for r in without.routes.values()} == {f"gguf:{bundled}"}
    with_llamacpp = resolve_preferences(raw, lambda name: name == "llamacpp")
    assert with_llamacpp.routes["math"].model == f"llamacpp:{bundled}"
    assert with_llamacpp.routes["math"].fallbacks == [f"gguf:{bundled}"]


def test_real_qwen_names_in_ollama_and_hf() -> None:
    assert load_profile("ollama").routes["code"].model.startswith("ollama:qwen2.5-coder")
    assert load_profile("hf").routes["vision"].model.startswith("hf:Qwen/Qwen2.5-VL")


@pytest.mark.parametrize(
    ("spec", "backend", "name"),
    [
        ("ollama:qwen3:8b", "ollama", "qwen3:8b"),
        ("hf:Qwen/Qwen2.5-7B-Instruct", "hf", "Qwen/Qwen2.5-7B-Instruct"),
        ("gguf:/models/x.gguf", "gguf", "/models/x.gguf"),
    ],
)
def test_model_spec(spec: str, backend: str, name: str) -> None:
    parsed = parse_model_spec(spec)
    assert (parsed.backend, parsed.name) == (backend, name)
    assert str(parsed) == spec


@pytest.mark.parametrize("spec", ["qwen3", "nope:model", "hf:", ":x"])
def test_bad_model_spec(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_model_spec(spec)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_profile_names_file_field_and_expectation(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\nroutes:\n  general:\n    model: hf:a\n    params: {temperature: hot}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    assert "routes.general.params.temperature" in message
    assert "number" in message


def test_profile_requires_general_route(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nroutes:\n  code:\n    model: hf:a\n")
    with pytest.raises(ConfigError, match="general"):
        load_profile(path)


def test_profile_rejects_unknown_keys_and_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="routes.general.modle"):
        load_profile(_write(tmp_path, "name: x\nroutes:\n  general:\n    modle: hf:a\n"))
    with pytest.raises(ConfigError, match="unknown backend"):
        load_profile(_write(tmp_path, "name: x\nroutes:\n  general:\n    model: vllm:a\n"))


def test_missing_and_unknown_profiles(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_profile(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="unknown profile"):
        load_profile("no-such-profile")
    with pytest.raises(ConfigError, match="YAML"):
        load_profile(_write(tmp_path, "name: [unclosed\n"))


def test_with_route_model() -> None:
    profile = load_profile("local").with_route_model("math", "ollama:qwen2-math:7b")
    assert profile.routes["math"].model == "ollama:qwen2-math:7b"
    assert profile.routes["math"].verifiers == ["math"]


def test_bare_yaml_on_off_thinking_modes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\nroutes:\n  general:\n    model: hf:a\n    thinking: {mode: on, budget: 64}\n"
        "  code:\n    model: hf:a\n    thinking: {mode: off}\n",
    )
    profile = load_profile(path)
    assert profile.routes["general"].thinking.mode == "on"
    assert profile.routes["code"].thinking.mode == "off"

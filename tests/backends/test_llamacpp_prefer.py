"""``prefer: {gguf: [llamacpp]}``: the local profile serves the bundled GGUF through
llama.cpp when llama-cpp-python is installed, else through transformers.

These run with or without the ``[llamacpp]`` extra.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml
from qwen_router.backends.registry import backend_installed
from qwen_router.errors import BackendUnavailable, ConfigError
from qwen_router.profiles import Profile, load_profile, resolve_preferences

GGUF = "gguf:smollm2-135m-instruct"
LLAMA = "llamacpp:smollm2-135m-instruct"


def test_local_profile_prefers_llamacpp_when_installed() -> None:
    installed = importlib.util.find_spec("llama_cpp") is not None
    assert backend_installed("llamacpp") is installed
    for route in load_profile("local").routes.values():
        if installed:
            assert (route.model, route.fallbacks[:1]) == (LLAMA, [GGUF])
        else:
            assert route.model == GGUF and LLAMA not in route.fallbacks


def test_resolution_both_ways_and_idempotent() -> None:
    shipped = importlib.resources.files("qwen_router") / "profile_data" / "local.yaml"
    raw = Profile.model_validate(yaml.safe_load(shipped.read_text(encoding="utf-8")))
    with_llama = resolve_preferences(raw, lambda name: name == "llamacpp")
    without = resolve_preferences(raw, lambda name: False)
    for name, route in with_llama.routes.items():
        assert route.model == LLAMA and route.fallbacks == [GGUF]
        assert (
            without.routes[name].model == GGUF and without.routes[name].fallbacks == []
        )
        # every other field of the route is kept
        assert (
            route.model_copy(update={"model": GGUF, "fallbacks": []})
            == without.routes[name]
        )
    assert resolve_preferences(with_llama, lambda name: True) == with_llama


def test_preference_applies_to_fallbacks_and_keeps_others(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nprefer: {gguf: [llamacpp]}\nroutes:\n  general:\n"
        "    model: ollama:qwen3\n    fallbacks: ['gguf:/models/x.gguf']\n",
        encoding="utf-8",
    )
    route = resolve_preferences(load_profile(path), lambda name: True).routes["general"]
    assert [route.model, *route.fallbacks] == [
        "ollama:qwen3",
        "llamacpp:/models/x.gguf",
        "gguf:/models/x.gguf",
    ]


def test_unknown_backend_in_prefer_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nprefer: {gguf: [vllm]}\n"
        "routes:\n  general: {model: 'gguf:x.gguf'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="vllm"):
        load_profile(path)


def test_missing_extra_is_backend_unavailable_with_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With llama_cpp unimportable, loading says which extra to install."""
    from qwen_router.backends.llamacpp import LlamaCppBackend

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # `import llama_cpp` fails
    with pytest.raises(BackendUnavailable) as info:
        LlamaCppBackend(n_threads=1).load("smollm2-135m-instruct")
    assert info.value.hint == "pip install 'qwen-router[llamacpp]'"
    assert info.value.retryable


def test_bad_options_are_config_errors() -> None:
    from qwen_router.backends.registry import create_backend

    with pytest.raises(ConfigError):
        create_backend("llamacpp", {"n_ctx": 4})
    with pytest.raises(ConfigError):
        create_backend("llamacpp", {"gpu": True})


def test_router_falls_back_when_the_preferred_backend_cannot_serve(
    tiny_qwen2: Path, tmp_path: Path
) -> None:
    """llama.cpp cannot load a transformers folder: the written spec answers."""
    from qwen_router import Router

    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nprefer: {hf: [llamacpp]}\nretry: {max_retries: 0}\n"
        "backends:\n  hf: {device: cpu, dtype: float32}\n"
        f"routes:\n  general:\n    model: 'hf:{tiny_qwen2}'\n"
        "    params: {max_tokens: 3, temperature: 0.0}\n",
        encoding="utf-8",
    )
    profile = resolve_preferences(load_profile(path), lambda name: True)
    assert profile.routes["general"].model == f"llamacpp:{tiny_qwen2}"
    with Router(profile) as router:
        result = router.invoke("hello", route="general")
    assert (result.model, result.backend) == (f"hf:{tiny_qwen2}", "hf")

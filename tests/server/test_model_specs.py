"""Client-chosen model specs: off by default, never the fake, canonical, bounded, no
filesystem oracle, no self-calls, bounded metric labels (issue 14, critical)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from qwen_router.server.model_specs import canonical_spec

from .conftest import free_port, serve, write_fake_profile

HI = [{"role": "user", "content": "hi"}]


def chat(server: Any, model: str, **body: Any) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": model, "messages": HI, **body},
        timeout=120,
    )


def test_specs_are_off_by_default_and_the_fake_is_never_reachable(
    fake_server: Any,
) -> None:
    with fake_server() as server:
        assert chat(server, "fake:scripted").status_code == 200  # the profile's own
        for name in ("ollama:qwen3:8b", "fake:anything", "hf:/tmp"):
            r = chat(server, name)
            assert (
                r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
            )
    with fake_server(allow_model_specs=True) as server:
        r = chat(server, "fake:recording")  # the overhead fake: never a client's pick
        assert r.status_code == 404


def test_one_404_for_every_missing_or_unreadable_file(fake_server: Any) -> None:
    def error(name: str) -> tuple[int, str]:
        r = chat(server, name)
        return r.status_code, r.json()["error"]["message"].replace(name[:200], "NAME")

    with fake_server(allow_model_specs=True) as server:
        answers = {
            error(name)
            for name in (
                "gguf:/etc/shadow",
                "gguf:/etc/hostname",
                "gguf:/no/such/file.gguf",
                "hf:/etc",
                "hf:/no/such/folder",
                "llamacpp:/etc/passwd",
            )
        }
    assert len(answers) == 1 and next(iter(answers))[0] == 404


def test_spellings_of_one_file_are_one_spec(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(16))
    spellings = [f"{gguf}", f"/{gguf}", f"{tmp_path}/./m.gguf", f"{tmp_path}//m.gguf"]
    assert {canonical_spec("gguf", s) for s in spellings} == {f"gguf:{gguf}"}
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    spellings = [f"{folder}", f"{folder}/", f"{folder}//", f"/{folder}"]
    assert {canonical_spec("hf", s) for s in spellings} == {f"hf:{folder}"}
    for bad in ("Qwen/Not-In-The-Cache", "openai:auto", "auto"):
        with pytest.raises(ValueError):  # never downloads, never nests
            canonical_spec("hf", bad)


def test_same_weights_load_once_and_the_lru_evicts(
    tiny_qwen2: Path, tiny_profile_yaml: Path, tmp_path: Path
) -> None:
    from qwen_router.backends.hf.loading import loaded_models

    first = Path(shutil.copytree(tiny_qwen2, tmp_path / "first"))
    second = Path(shutil.copytree(tiny_qwen2, tmp_path / "second"))
    with serve(
        tiny_profile_yaml,
        allow_model_specs=True,
        model_spec_backends=["hf"],
        max_client_models=1,
    ) as server:
        for spelling in (
            f"hf:{first}",
            f"hf:{first}/",
            f"hf:{first}//",
            f"hf:/{first}",
        ):
            r = chat(server, spelling, max_tokens=2)
            assert r.status_code == 200, r.text
            assert r.json()["model"] == f"hf:{first}"
        assert loaded_models().count(str(first)) == 1
        service = server.app.state.service
        assert service.client_models.cached == [f"hf:{first}"]
        assert chat(server, f"hf:{second}", max_tokens=2).status_code == 200
        assert service.client_models.cached == [f"hf:{second}"]
        assert str(first) not in loaded_models()  # evicted, not kept forever


def test_no_self_calls(tmp_path: Path) -> None:
    port = free_port()
    profile = write_fake_profile(
        tmp_path / "self.yaml",
        extra_backends=f"  openai: {{base_url: 'http://127.0.0.1:{port}/v1'}}\n",
    )
    with serve(profile, port=port, allow_model_specs=True) as server:
        for name in (
            "openai:openai:openai:openai:auto",
            "openai:auto",
            "openai:some-model",
        ):
            r = chat(server, name)
            assert r.status_code == 404, (name, r.text)


def test_metric_labels_stay_bounded(fake_server: Any) -> None:
    with (
        fake_server(allow_model_specs=True, model_spec_backends=["ollama"]) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):

        def series() -> int:
            text = http.get("/metrics").text
            return len(
                [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
            )

        for i in range(10):
            http.post(
                "/v1/chat/completions",
                json={"model": f"ollama:bogus-{i}", "messages": HI},
            )
        before = series()
        for i in range(10, 1000):
            r = http.post(
                "/v1/chat/completions",
                json={"model": f"ollama:bogus-{i}", "messages": HI},
            )
            assert r.status_code < 600
        after = series()
        body = http.get("/metrics").text
    assert after == before
    assert not re.search(r"bogus-\d+", body)

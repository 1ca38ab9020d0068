"""The transformers backend on tiny random Qwen2 / Qwen3 models with the real vocabulary."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.hf.loading import load_model
from qwen_router.errors import ConfigError, ModelNotFound
from qwen_router.types import GenerationParams, normalize_messages


def _request(model: Path, text: str = "hello", **params: object) -> GenerateRequest:
    return GenerateRequest(
        model=str(model),
        messages=normalize_messages(text),
        params=GenerationParams(**{"max_tokens": 12, "temperature": 0.0, **params}),
    )


@pytest.fixture(scope="module")
def backend() -> HFBackend:
    return HFBackend(device="cpu", dtype="float32")


def test_generate_reports_usage_and_timings(backend: HFBackend, tiny_qwen2: Path) -> None:
    result = backend.generate(_request(tiny_qwen2))
    assert result.usage.completion_tokens == 12 and result.finish_reason == "length"
    assert result.usage.prompt_tokens == len(
        load_model("hf", str(tiny_qwen2), device="cpu", dtype="float32").tokenizer(
            backend.render_prompt(_request(tiny_qwen2))
        )["input_ids"]
    )
    assert result.generate_ms > 0 and result.first_token_ms is not None
    assert result.text


def test_stream_matches_generate_and_keeps_multibyte_characters(
    backend: HFBackend, tiny_qwen2: Path
) -> None:
    # Seeded sampling on random weights gives CJK, Cyrillic and Hebrew byte-level
    # tokens: the incremental decoder must never split a character.
    request = _request(tiny_qwen2, "你好，世界", max_tokens=24, temperature=1.0, seed=2)
    chunks = list(backend.stream(request))
    assert chunks[-1].done and chunks[-1].result is not None
    streamed = "".join(c.text for c in chunks)
    assert streamed == chunks[-1].result.text == backend.generate(request).text
    assert any(ord(ch) > 0x2E80 for ch in streamed)
    assert "\ufffd" not in streamed


def test_async_twins(backend: HFBackend, tiny_qwen2: Path) -> None:
    result = asyncio.run(backend.agenerate(_request(tiny_qwen2)))
    assert result.text == backend.generate(_request(tiny_qwen2)).text

    async def collect() -> list[str]:
        return [c.text async for c in backend.astream(_request(tiny_qwen2))]

    assert "".join(asyncio.run(collect())) == result.text


def test_uses_the_models_own_chat_template(backend: HFBackend, tiny_qwen2: Path, tiny_qwen3: Path) -> None:
    qwen25 = backend.render_prompt(_request(tiny_qwen2, "hi"))
    assert qwen25.startswith("<|im_start|>system\nYou are Qwen")
    assert qwen25.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    request = _request(tiny_qwen3, "hi")
    request.thinking = False
    assert backend.render_prompt(request).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    request.thinking = True
    assert backend.render_prompt(request).endswith("<|im_start|>assistant\n")


def test_model_loaded_once_and_shared(tiny_qwen2: Path) -> None:
    a = load_model("hf", str(tiny_qwen2), device="cpu", dtype="float32")
    b = HFBackend(device="cpu", dtype="float32").load(str(tiny_qwen2))
    assert a is b


def test_stop_strings_and_sampling_seed(backend: HFBackend, tiny_qwen2: Path) -> None:
    sampled = [
        backend.generate(_request(tiny_qwen2, temperature=1.0, seed=7)).text for _ in range(2)
    ]
    assert sampled[0] == sampled[1]
    # Seeded sampling is deterministic; random weights only print newlines greedily.
    full = sampled[0]
    start = next(i for i in range(1, len(full) - 3) if full[i : i + 3].strip())
    stop = full[start : start + 3]
    stopped = backend.generate(_request(tiny_qwen2, temperature=1.0, seed=7, stop=[stop]))
    assert len(stopped.text) < len(full)
    assert stopped.text.startswith(full[:start])


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        HFBackend(device="cpu").generate(_request(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="dtype"):
        HFBackend(device="cpu", dtype="float8").generate(_request(tmp_path))
    with pytest.raises(ConfigError):
        HFBackend(device="cpu", quantization="4bit").generate(_request(tmp_path))
    with pytest.raises(ConfigError, match="kind"):
        HFBackend(kind="onnx")


def test_health_reports_presence(tiny_qwen2: Path, tmp_path: Path) -> None:
    assert HFBackend().health(str(tiny_qwen2)).available
    assert not HFBackend().health(str(tmp_path / "absent")).available
    assert not HFBackend(kind="gguf").health(str(tmp_path / "x.gguf")).available

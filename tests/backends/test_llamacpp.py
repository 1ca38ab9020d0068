"""The llama.cpp backend on the bundled SmolLM2-135M-Instruct GGUF (real, no mocks).

Skipped only when llama-cpp-python (the ``[llamacpp]`` extra) is not importable.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

pytest.importorskip(
    "llama_cpp",
    reason="llama-cpp-python is not installed (pip install 'qwen-router[llamacpp]')",
)

from qwen_router.backends.base import GenerateRequest  # noqa: E402
from qwen_router.backends.llamacpp import LlamaCppBackend  # noqa: E402
from qwen_router.backends.llamacpp.errors import (  # noqa: E402
    DEFINED_ERRORS,
    ERROR_TABLE,
)
from qwen_router.backends.registry import create_backend  # noqa: E402
from qwen_router.errors import BackendResponseError, ModelNotFound  # noqa: E402
from qwen_router.types import GenerationParams, Message  # noqa: E402

MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    return LlamaCppBackend(n_threads=2, n_ctx=2048)


def _chat(text: str, **params: object) -> GenerateRequest:
    return GenerateRequest(
        model=MODEL,
        messages=[Message(role="user", content=text)],
        params=GenerationParams(**{"temperature": 0.0, "max_tokens": 16, **params}),
    )


def test_model_is_loaded_once_and_shared(backend: LlamaCppBackend) -> None:
    first = backend.load(MODEL)
    assert LlamaCppBackend(n_threads=2, n_ctx=2048).load(MODEL) is first
    assert first.load_ms > 0 and first.template and "<|im_start|>" in first.template
    assert LlamaCppBackend().n_threads == os.cpu_count()
    assert isinstance(create_backend("llamacpp", {"n_threads": 2}), LlamaCppBackend)


def test_prompt_is_rendered_with_the_gguf_chat_template(
    backend: LlamaCppBackend,
) -> None:
    prompt = backend.render_prompt(_chat("What is 2+2?"))
    assert prompt.endswith(
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert prompt.startswith("<|im_start|>system\n")  # SmolLM2's default system prompt


def test_template_renders_like_transformers(backend: LlamaCppBackend) -> None:
    """The GGUF's template under llama.cpp == its tokenizer's under transformers."""
    pytest.importorskip("transformers", reason="needs the [hf] extra to compare")
    from transformers import AutoTokenizer

    path = backend.load(MODEL).path
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    for messages in (
        [{"role": "user", "content": "Hi!"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"},
        ],
    ):
        request = GenerateRequest(
            model=MODEL, messages=[Message(**m) for m in messages]
        )
        expected = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        assert backend.render_prompt(request) == expected


def test_template_errors() -> None:
    from qwen_router.backends.llamacpp.template import render_chat
    from qwen_router.errors import ConfigError, InputError

    messages = [Message(role="user", content="hi")]
    with pytest.raises(ConfigError, match="no chat template"):
        render_chat(None, messages, bos="", eos="")
    with pytest.raises(InputError, match="roles must alternate"):
        render_chat(
            "{{ raise_exception('roles must alternate') }}", messages, bos="", eos=""
        )
    with pytest.raises(ConfigError, match="does not compile"):
        render_chat("{% if %}", messages, bos="", eos="")


def test_streaming_with_exact_token_counts(backend: LlamaCppBackend) -> None:
    request = _chat("Write a short poem about the sea.", max_tokens=12)
    deltas = list(backend._raw_stream(request))
    chunks = list(backend.stream(request))
    result = chunks[-1].result
    assert result is not None and chunks[-1].done
    assert len(chunks) > 3  # tokens arrive one by one
    assert "".join(c.text for c in chunks) == result.text
    assert result.usage.completion_tokens == sum(d.tokens for d in deltas) == 12
    assert result.finish_reason == "length"
    assert result.usage.prompt_tokens > 10 and result.backend == "llamacpp"
    assert backend.generate(request).text == result.text  # greedy is deterministic


def test_stop_at_eos(backend: LlamaCppBackend) -> None:
    result = backend.generate(_chat("Say just the word 'hello'.", max_tokens=64))
    assert result.finish_reason == "stop" and result.text.strip()
    assert 0 < result.usage.completion_tokens < 64
    assert "<|im_end|>" not in result.text


def test_stop_strings_are_cut_out(backend: LlamaCppBackend) -> None:
    full = backend.generate(_chat("Name three colors.", max_tokens=40)).text
    word = next(w for w in re.findall(r"[A-Za-z]{3,}", full) if full.index(w) > 0)
    cut = backend.generate(_chat("Name three colors.", max_tokens=40, stop=[word]))
    assert cut.text == full[: full.index(word)]
    assert word not in cut.text and cut.finish_reason == "stop"
    assert cut.usage.completion_tokens < len(full)


def test_raw_continuation_matches_chat(backend: LlamaCppBackend) -> None:
    request = _chat("Name three colors.", max_tokens=10)
    prompt = backend.render_prompt(request)
    chat = backend.generate(request)
    raw = list(backend.stream_prompt(MODEL, prompt, request.params))[-1].result
    assert raw is not None and raw.text == chat.text
    assert raw.usage == chat.usage


def test_thinking_split_on_raw_continuation(backend: LlamaCppBackend) -> None:
    prompt = backend.render_prompt(_chat("Why is the sky blue?")) + "<think>\n"
    params = GenerationParams(temperature=0.0, max_tokens=6)
    result = list(backend.stream_prompt(MODEL, prompt, params, in_thinking=True))[
        -1
    ].result
    assert result is not None and result.thinking and not result.text
    assert result.usage.thinking_tokens == result.usage.completion_tokens == 6


def test_seeded_sampling_is_reproducible(backend: LlamaCppBackend) -> None:
    def sample(seed: int) -> str:
        req = _chat("Tell me a story.", temperature=1.0, seed=seed, max_tokens=12)
        return backend.generate(req).text

    assert sample(3) == sample(3)
    assert len({sample(s) for s in (1, 2, 3, 4)}) > 1


def test_seeded_call_ignores_the_previous_calls_cache(backend: LlamaCppBackend) -> None:
    """A seeded call gives the same text whether or not the KV cache holds its prompt."""
    req = _chat("Tell me a story.", temperature=1.0, seed=7, max_tokens=12)
    backend.generate(_chat("Something else entirely.", max_tokens=4))
    cold = backend.generate(req).text
    warm = backend.generate(req).text  # the prompt is now a full KV-prefix hit
    assert cold == warm


def test_async_twins(backend: LlamaCppBackend) -> None:
    request = _chat("Name a fruit.", max_tokens=8)
    result = asyncio.run(backend.agenerate(request))
    assert result.text == backend.generate(request).text


def test_errors_are_mapped(backend: LlamaCppBackend, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="not found"):
        backend.load(str(tmp_path / "missing.gguf"))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelNotFound, match="cannot load"):
        backend.load(str(junk))
    small = LlamaCppBackend(n_threads=2, n_ctx=64)
    with pytest.raises(BackendResponseError) as info:
        small.generate(_chat("word " * 200))
    assert info.value.status_code == 400 and info.value.hint


def test_error_map_covers_everything_llama_cpp_raises() -> None:
    """Every exception class llama_cpp raises or defines falls under a table entry."""
    import llama_cpp

    covered = tuple(kind for kind, _ in ERROR_TABLE)
    raised: set[type[BaseException]] = set()
    root = Path(llama_cpp.__file__).parent
    for source in root.rglob("*.py"):
        for name in re.findall(
            r"raise\s+([A-Za-z_]+)\s*\(", source.read_text("utf-8", "replace")
        ):
            kind = getattr(builtins, name, None)
            if isinstance(kind, type) and issubclass(kind, BaseException):
                raised.add(kind)
    for info in pkgutil.iter_modules(llama_cpp.__path__, "llama_cpp."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # optional modules (server extras) may not import
            continue
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Exception)
                and value.__module__.startswith("llama_cpp")
            ):
                assert value.__name__ in DEFINED_ERRORS  # classes llama_cpp defines
    assert {ValueError, RuntimeError} <= raised
    # the trailing catch-all ``Exception`` entry is for a bare ``raise Exception`` only
    specific = tuple(k for k in covered if k is not Exception)
    assert [
        k for k in raised if k is not Exception and not issubclass(k, specific)
    ] == []
    assert Exception in covered


def test_local_profile_serves_the_bundled_gguf_through_llamacpp() -> None:
    from qwen_router import Router

    with Router("local") as router:
        assert router.profile.routes["general"].fallbacks == [f"gguf:{MODEL}"]
        result = router.invoke(
            "What is the capital of France?", params={"max_tokens": 8}
        )
    assert (result.model, result.backend) == (f"llamacpp:{MODEL}", "llamacpp")
    assert result.answer and 0 < result.usage.completion_tokens <= 8

"""In-process batching for the transformers backend, on real (tiny and bundled) models.

Every request in a padded batch must get exactly the tokens it gets alone: batched
greedy output is compared with unbatched ``model.generate`` output token for token,
with prompts of different lengths so left padding matters.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest, GenerateResult
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.hf.batching import BatchOptions, ModelBatcher, batcher_for
from qwen_router.backends.hf.loading import LoadedModel, load_model
from qwen_router.backends.registry import create_backend
from qwen_router.errors import ConfigError
from qwen_router.types import GenerationParams, Message

QUESTIONS = [
    "Hi",
    "What is 2+2? Answer briefly.",
    "Write a long poem about the sea, the sky and the mountains, with rhymes. " * 3,
    "Bonjour, comment ça va ?",
    "Tell me a joke, please!",
]


@pytest.fixture(scope="module")
def sharp_qwen2(tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2 with weights redrawn at std 0.5.

    The conftest model's small init makes it echo its last input token forever;
    with larger weights its greedy output depends on the whole prompt, and the top
    two logits sit ~0.2 apart, so padding mistakes show up as different tokens.
    """
    import torch
    from transformers import AutoModelForCausalLM

    target = tmp_path_factory.mktemp("sharp-qwen2")
    for item in tiny_qwen2.iterdir():
        if item.is_file():
            shutil.copy(item, target / item.name)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_qwen2))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.save_pretrained(str(target))
    return target


def _loaded(folder: Path) -> LoadedModel:
    return load_model("hf", str(folder), device="cpu", dtype="float32")


def _prompt_ids(loaded: LoadedModel, question: str) -> list[int]:
    text = loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": question}],
        tokenize=False,
        add_generation_prompt=True,
    )
    return list(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])


def _reference_ids(loaded: LoadedModel, ids: list[int], max_new: int) -> list[int]:
    """Unbatched greedy ``model.generate``, cut after the first EOS (as streamed)."""
    import torch
    from qwen_router.backends.hf.generation import eos_ids

    eos = eos_ids(loaded)
    with torch.inference_mode():
        out = loaded.model.generate(
            input_ids=torch.tensor([ids]),
            attention_mask=torch.ones((1, len(ids)), dtype=torch.long),
            max_new_tokens=max_new,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=next(iter(eos)),
        )
    new = out[0, len(ids) :].tolist()
    for i, token in enumerate(new):
        if token in eos:
            return new[: i + 1]
    return new


def _drain(job: Any) -> list[int]:
    from qwen_router.backends.hf.batching import _END

    while job.out.get() is not _END:
        pass
    return list(job.generated)


def _batched_ids(
    loaded: LoadedModel, prompts: list[list[int]], params: list[GenerationParams]
) -> tuple[list[list[int]], ModelBatcher]:
    # a private batcher with a long window: every prompt lands in one batch
    batcher = ModelBatcher(loaded, BatchOptions(window_ms=2000, max_batch_size=8))
    jobs = [batcher.submit(ids, p) for ids, p in zip(prompts, params, strict=True)]
    return [_drain(job) for job in jobs], batcher


@pytest.mark.parametrize("model_fixture", ["tiny_qwen2", "sharp_qwen2"])
def test_batched_greedy_equals_unbatched_token_for_token(
    model_fixture: str, request: pytest.FixtureRequest
) -> None:
    loaded = _loaded(request.getfixturevalue(model_fixture))
    prompts = [_prompt_ids(loaded, q) for q in QUESTIONS]
    assert len({len(p) for p in prompts}) == len(prompts)  # padding differs per row
    params = [GenerationParams(max_tokens=n, temperature=0.0) for n in (6, 9, 4, 8, 7)]
    batched, batcher = _batched_ids(loaded, prompts, params)
    assert list(batcher.batch_sizes) == [len(prompts)]
    for ids, p, got in zip(prompts, params, batched, strict=True):
        assert got == _reference_ids(loaded, ids, p.max_tokens or 0)
        assert len(got) == p.max_tokens  # per-row max_new_tokens


def _chat(question: str, **params: Any) -> GenerateRequest:
    return GenerateRequest(
        model="",  # set by the caller
        messages=[Message(role="user", content=question)],
        params=GenerationParams(**params),
    )


def _concurrently(fns: list[Callable[[], GenerateResult]]) -> list[GenerateResult]:
    results: list[Any] = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fns[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_backend_option_batches_concurrent_requests(sharp_qwen2: Path) -> None:
    model = str(sharp_qwen2)
    plain = HFBackend(device="cpu", dtype="float32")
    batched = HFBackend(
        device="cpu", dtype="float32", batching=True, batch_window_ms=500
    )
    assert batched.capabilities.batching and not plain.capabilities.batching
    requests = [
        _chat(q, max_tokens=n, temperature=0.0).model_copy(update={"model": model})
        for q, n in zip(QUESTIONS[:4], (5, 8, 3, 6), strict=True)
    ]
    # a stop string ends one row early without touching the others
    alone = plain.generate(requests[1])
    stop = alone.text[2:4]
    requests[1] = requests[1].model_copy(
        update={"params": requests[1].params.model_copy(update={"stop": [stop]})}
    )
    expected = [plain.generate(r) for r in requests]
    got = _concurrently([lambda r=r: batched.generate(r) for r in requests])
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if i == 1:  # stopped where the stop string first appears, as unbatched
            assert stop in have.text and alone.text.startswith(have.text)
            assert have.text.find(stop) == alone.text.find(stop)
            assert have.usage.completion_tokens < alone.usage.completion_tokens
            continue
        assert have.text == want.text
        assert have.usage == want.usage
        assert have.finish_reason == want.finish_reason
    batcher = batcher_for(batched.load(model), batched.batching or BatchOptions())
    assert max(batcher.batch_sizes) > 1


def test_async_requests_and_raw_continuation_batch(sharp_qwen2: Path) -> None:
    model = str(sharp_qwen2)
    plain = HFBackend(device="cpu", dtype="float32")
    batched = HFBackend(
        device="cpu", dtype="float32", batching=True, batch_window_ms=400
    )
    requests = [
        _chat(q, max_tokens=4, temperature=0.0).model_copy(update={"model": model})
        for q in QUESTIONS[:3]
    ]
    prompt = plain.render_prompt(requests[0]) + "Sure"
    params = GenerationParams(max_tokens=4, temperature=0.0)

    async def main() -> list[Any]:
        async def cont() -> GenerateResult:
            result = None
            async for chunk in batched.astream_prompt(model, prompt, params):
                result = chunk.result or result
            assert result is not None
            return result

        return await asyncio.gather(*(batched.agenerate(r) for r in requests), cont())

    *chats, continued = asyncio.run(main())
    assert [c.text for c in chats] == [plain.generate(r).text for r in requests]
    reference = list(plain.stream_prompt(model, prompt, params))[-1].result
    assert reference is not None and continued.text == reference.text


def test_seeded_sampling_is_per_request(sharp_qwen2: Path) -> None:
    loaded = _loaded(sharp_qwen2)
    ids = _prompt_ids(loaded, QUESTIONS[1])
    other = _prompt_ids(loaded, QUESTIONS[2])

    def sampled(seed: int) -> GenerationParams:
        return GenerationParams(max_tokens=8, temperature=1.0, top_k=50, seed=seed)

    alone, _ = _batched_ids(loaded, [ids], [sampled(7)])
    mixed, _ = _batched_ids(
        loaded,
        [other, ids, ids, other],
        [
            GenerationParams(max_tokens=8, temperature=0.0),
            sampled(7),
            sampled(8),
            sampled(7),
        ],
    )
    assert mixed[1] == alone[0]  # same seed, same tokens, whatever runs beside it
    assert mixed[2] != mixed[1]  # another seed draws its own stream
    assert mixed[0] == _reference_ids(loaded, other, 8)  # greedy rows are unaffected


def test_abandoned_stream_leaves_the_batch_running(sharp_qwen2: Path) -> None:
    model = str(sharp_qwen2)
    batched = HFBackend(
        device="cpu", dtype="float32", batching=True, batch_window_ms=500
    )
    plain = HFBackend(device="cpu", dtype="float32")
    full = _chat(QUESTIONS[1], max_tokens=6, temperature=0.0).model_copy(
        update={"model": model}
    )
    cut = _chat(QUESTIONS[2], max_tokens=50, temperature=0.0).model_copy(
        update={"model": model}
    )

    def abandon() -> GenerateResult:
        stream = batched.stream(cut)
        next(stream)
        stream.close()  # the consumer goes away after one chunk
        return plain.generate(full)  # any result, to fit _concurrently

    results = _concurrently([lambda: batched.generate(full), abandon])
    assert results[0].text == results[1].text
    assert results[0].usage.completion_tokens == 6


def test_max_batch_size_is_respected(sharp_qwen2: Path) -> None:
    loaded = _loaded(sharp_qwen2)
    batcher = ModelBatcher(loaded, BatchOptions(window_ms=1000, max_batch_size=2))
    jobs = [
        batcher.submit(
            _prompt_ids(loaded, q), GenerationParams(max_tokens=2, temperature=0.0)
        )
        for q in QUESTIONS
    ]
    for job in jobs:
        _drain(job)
    assert list(batcher.batch_sizes) == [2, 2, 1]


def test_bad_batching_options() -> None:
    with pytest.raises(ConfigError):
        BatchOptions(max_batch_size=0)
    with pytest.raises(ConfigError):
        create_backend("hf", {"batching": True, "batch_window_ms": -1})


@pytest.mark.slow
def test_bundled_smollm2_batched_equals_unbatched() -> None:
    """The real model, real EOS: rows end at different steps inside one batch."""
    from qwen_router.backends.bundled import ensure_gguf

    loaded = load_model(
        "gguf", str(ensure_gguf("smollm2-135m-instruct")), device="cpu", dtype="float32"
    )
    prompts = [
        _prompt_ids(loaded, q) for q in ("Say hi.", QUESTIONS[1], "Name a color.")
    ]
    params = [GenerationParams(max_tokens=12, temperature=0.0)] * len(prompts)
    batched, batcher = _batched_ids(loaded, prompts, params)
    assert list(batcher.batch_sizes) == [len(prompts)]
    for ids, got in zip(prompts, batched, strict=True):
        assert got == _reference_ids(loaded, ids, 12)

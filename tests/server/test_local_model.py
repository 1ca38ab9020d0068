"""End to end with the bundled SmolLM2 (the ``local`` profile): a real answer."""

from __future__ import annotations

import openai
import pytest

from .conftest import serve


@pytest.mark.slow
def test_local_profile_answers_through_both_apis() -> None:
    import ollama

    with serve("local", preload=True) as server:
        c = openai.OpenAI(
            base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=600
        )
        raw = c.chat.completions.with_raw_response.create(
            model="auto",
            max_tokens=24,
            temperature=0,
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
        completion = raw.parse()
        reply = ollama.Client(host=server.url, timeout=600).chat(
            model="auto",
            options={"num_predict": 16, "temperature": 0},
            messages=[{"role": "user", "content": "Say hello."}],
        )
    # llama.cpp serves the bundled GGUF when installed, transformers otherwise
    assert raw.headers["x-qwen-router-model"] in {
        "gguf:smollm2-135m-instruct",
        "llamacpp:smollm2-135m-instruct",
    }
    assert raw.headers["x-qwen-router-route"] == "general"
    assert "paris" in (completion.choices[0].message.content or "").lower()
    assert reply.message.content.strip()

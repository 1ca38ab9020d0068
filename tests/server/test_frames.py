"""A pre-rendered stream frame gives, byte for byte, the JSON the chunk model dumps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qwen_router.server.frames import Frame, placeholder
from qwen_router.server.responses import (
    ChatCompletionChunk,
    ChunkChoice,
    ChunkDelta,
    OllamaChatResponse,
    OllamaGenerateResponse,
    OllamaResponseMessage,
    dump_json,
)

TRICKY = [
    "",
    'he said "hi"',
    "back\\slash and /slash",
    "line\nbreak\ttab\rreturn\x08\x0c",
    "\x00\x01\x1f\x7f control",
    "\u2028\u2029 separators",
    "✓ 中文 日本語 🤖 é",
    "</script><!--",
    placeholder(1),  # a value that looks like another slot stays a value
]


def _openai(delta: ChunkDelta, usage: bool) -> ChatCompletionChunk:
    chunk = ChatCompletionChunk(
        id="chatcmpl-1",
        created=1,
        model="llamacpp:smollm2",
        choices=[ChunkChoice(index=0, delta=delta, finish_reason=None, logprobs=None)],
    )
    if usage:
        chunk.usage = None  # as the API sets it when include_usage is asked
    return chunk


@pytest.mark.parametrize("field", ["content", "reasoning_content"])
@pytest.mark.parametrize("usage", [False, True])
@pytest.mark.parametrize("text", TRICKY)
def test_an_openai_token_chunk_renders_as_its_model_dumps(
    field: str, usage: bool, text: str
) -> None:
    template = _openai(ChunkDelta(**{field: placeholder(0)}), usage)
    expected = dump_json(_openai(ChunkDelta(**{field: text}), usage))
    assert Frame(template, 1, dump_json).render([text]) == expected


def _ollama(
    chat: bool, when: str, text: str, thinking: str | None
) -> OllamaChatResponse | OllamaGenerateResponse:
    if chat:
        message = OllamaResponseMessage(role="assistant", content=text)
        if thinking is not None:
            message.thinking = thinking
        return OllamaChatResponse(
            model="qwen3", created_at=when, message=message, done=False
        )
    answer = OllamaGenerateResponse(
        model="qwen3", created_at=when, response=text, done=False
    )
    if thinking is not None:
        answer.thinking = thinking
    return answer


@settings(max_examples=200, deadline=None)
@given(
    chat=st.booleans(),
    thinks=st.booleans(),
    text=st.text(),
    thought=st.text(),
    when=st.sampled_from(["2026-12-01T17:00:00.123456Z", ""]),
)
def test_an_ollama_line_renders_as_its_model_dumps(
    chat: bool, thinks: bool, text: str, thought: str, when: str
) -> None:
    slots = 3 if thinks else 2
    thinking_slot = placeholder(2) if thinks else None
    template = _ollama(chat, placeholder(0), placeholder(1), thinking_slot)
    frame = Frame(template, slots, dump_json)
    values = [when, text, thought][:slots]
    expected = dump_json(_ollama(chat, when, text, thought if thinks else None))
    assert frame.render(values) == expected


def test_a_placeholder_the_dump_lacks_is_refused() -> None:
    chunk = _openai(ChunkDelta(content="no slot here"), usage=False)
    with pytest.raises(ValueError, match="placeholder 0"):
        Frame(chunk, 1, dump_json)

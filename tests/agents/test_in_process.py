"""Tools and structured output on models run in-process: the chat template renders the
tools (checked against transformers' own rendering of Qwen2.5's real template), a tiny
Qwen2 is made to say a call through its real ``generate`` (a forcing hook acts as the
logits processor) and the shared parser turns it into calls, through the whole graph;
llama.cpp holds SmolLM2 to a JSON schema with a grammar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qwen_router import Router, StructuredOutputError
from qwen_router.backends.hf import HFBackend
from qwen_router.backends.llamacpp.template import render_chat
from qwen_router.backends.types import GenerateRequest
from qwen_router.types import GenerationParams, Message, RouteRequest, ToolSpec
from support.forcing import forced_output

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CALL = (
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
)
# a conversation in the middle of a tool loop, as an OpenAI client sends it
WIRE = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
            }
        ],
    },  # fmt: skip
    {
        "role": "tool",
        "tool_call_id": "call_1",
        "name": "get_weather",
        "content": "sunny",
    },
]


@pytest.fixture(scope="module")
def hf() -> HFBackend:
    return HFBackend(device="cpu", dtype="float32")


def test_tools_render_as_transformers_renders_the_real_template(
    hf: HFBackend, tiny_qwen2: Path
) -> None:
    request = GenerateRequest(
        model=str(tiny_qwen2),
        messages=[Message.model_validate(m) for m in WIRE],
        tools=[ToolSpec.model_validate(TOOL)],
    )
    ours = hf.render_prompt(request)
    tokenizer = hf.load(str(tiny_qwen2)).tokenizer
    theirs = tokenizer.apply_chat_template(
        WIRE, tools=[TOOL], tokenize=False, add_generation_prompt=True
    )
    assert ours == theirs
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather"' in ours
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
        in ours
    )
    assert "<tool_response>\nsunny\n</tool_response>" in ours
    # the llama.cpp renderer gives the same prompt from the same template
    gguf_style = render_chat(
        tokenizer.chat_template,
        request.messages,
        bos="",
        eos="<|im_end|>",
        tools=request.tools,
    )
    assert gguf_style == theirs


def test_a_template_without_tools_is_refused(hf: HFBackend, tiny_qwen3: Path) -> None:
    from qwen_router.errors import ModelCapabilityError

    request = GenerateRequest(
        model=str(tiny_qwen3),
        messages=[Message(role="user", content="hi")],
        tools=[ToolSpec.model_validate(TOOL)],
    )
    with pytest.raises(ModelCapabilityError, match="without tool support"):
        hf.render_prompt(request)


def test_forced_generation_parses_into_calls_through_the_graph(
    hf: HFBackend, tiny_qwen2: Path, hf_profile: Path
) -> None:
    router = Router(hf_profile, backends={"hf": hf})
    request = RouteRequest(
        messages=[Message(role="user", content="What is 2+2? Use the tool.")],
        route="math",
        tools=[ToolSpec.model_validate(TOOL)],
    )
    with forced_output(hf, str(tiny_qwen2), "Checking.\n" + CALL):
        events = list(router.stream(request))
    result = next(e.result for e in events if e.type == "result")
    streamed = "".join(e.text for e in events if e.type == "token")
    assert "<tool_call>" not in streamed and streamed.strip() == "Checking."
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert result.finish_reason == "tool_calls" and result.answer == "Checking."
    nodes = [t.node for t in result.trace]
    assert (
        "verify" not in nodes and result.verification is None
    )  # no math check on a call
    # the tool result goes back to the model that made the call
    follow = request.model_copy(
        update={
            "messages": [
                *request.messages,
                Message(role="assistant", tool_calls=result.tool_calls),
                Message(
                    role="tool", tool_call_id=result.tool_calls[0].id, content="sunny"
                ),
            ],
            "route": None,
        }
    )
    with forced_output(hf, str(tiny_qwen2), "4"):
        final = router.invoke(follow)
    assert final.answer == "4" and final.model == result.model
    assert f"tool_loop:{result.model}" in final.decision.signals


def test_broken_call_is_reported_not_raised(
    hf: HFBackend, tiny_qwen2: Path, hf_profile: Path
) -> None:
    router = Router(hf_profile, backends={"hf": hf})
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>'
    with forced_output(hf, str(tiny_qwen2), broken):
        result = router.invoke(
            RouteRequest(
                messages=[Message(role="user", content="hi")],
                tools=[ToolSpec.model_validate(TOOL)],
            )
        )
    assert (
        result.tool_calls == [] and result.invalid_tool_calls[0].name == "get_weather"
    )
    assert "not valid JSON" in result.invalid_tool_calls[0].error


def test_structured_output_in_process_is_validated_and_repaired(
    hf: HFBackend, tiny_qwen2: Path, hf_profile: Path
) -> None:
    router = Router(hf_profile, backends={"hf": hf})
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}},
        "required": ["age"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "age", "schema": schema}}
    request = RouteRequest(
        messages=[Message(role="user", content="Age?")], response_format=fmt
    )
    with forced_output(hf, str(tiny_qwen2), '{"age": 36}'):
        result = router.invoke(request)
    assert (
        json.loads(result.answer) == {"age": 36} and result.structured == "instructed"
    )
    assert result.verification is not None and result.verification.status == "verified"
    with forced_output(hf, str(tiny_qwen2), '{"age": "old"}'):
        with pytest.raises(StructuredOutputError, match="after 1 repair"):
            router.invoke(request)


def test_llama_cpp_grammar_holds_output_to_the_schema() -> None:
    pytest.importorskip("llama_cpp")
    from qwen_router.backends.llamacpp import LlamaCppBackend

    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    backend = LlamaCppBackend(n_ctx=1024)
    request = GenerateRequest(
        model="smollm2-135m-instruct",
        messages=[Message(role="user", content="Invent a person.")],
        params=GenerationParams(max_tokens=48, temperature=0.0),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "p", "schema": schema},
        },
    )
    text = backend.generate(request).text
    value = json.loads(text)
    assert isinstance(value["name"], str) and isinstance(value["age"], int)

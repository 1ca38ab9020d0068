"""Tool calls through ``qwen-router serve``, driven by the official ``openai`` and
``ollama`` clients, with an Ollama-protocol and a vLLM-like server upstream whose
tiny Qwen2 is made to say the calls (real generation, real chat template)."""

from __future__ import annotations

import json
from pathlib import Path

import ollama
import openai
import pytest
from support.ollama_server import OllamaTestServer
from support.openai_server import OpenAITestServer

from .conftest import OLLAMA_TOOLS, serving

WEATHER_TOOL = {
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
QUESTION = "What's the weather in Paris? Use the tool."


def test_openai_client_full_tool_loop_over_ollama(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    ollama.faults.say = [CALL, "It is sunny in Paris, 21 C."]
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        messages: list[dict[str, object]] = [{"role": "user", "content": QUESTION}]
        first = client.chat.completions.create(
            model="auto", messages=messages, tools=[WEATHER_TOOL]
        )
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        call = choice.message.tool_calls[0]
        assert call.type == "function" and call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}  # JSON text
        # upstream got the tools in Ollama's shape
        sent = ollama.requests[-1][1]
        assert sent["tools"][0]["function"]["name"] == "get_weather"

        messages.append(choice.message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}
        )
        second = client.chat.completions.create(
            model="auto", messages=messages, tools=[WEATHER_TOOL]
        )
        assert second.choices[0].finish_reason == "stop"
        assert second.choices[0].message.content == "It is sunny in Paris, 21 C."
        assert second.choices[0].message.tool_calls is None
        # the tool turn reached Ollama with the call and its result
        history = ollama.requests[-1][1]["messages"]
        assert history[-2]["tool_calls"][0]["function"]["arguments"] == {
            "city": "Paris"
        }
        assert history[-1]["role"] == "tool" and history[-1]["content"] == "sunny, 21 C"
        # the loop stayed on the model that made the call, and says so
        body = second.model_extra["qwen_router"]
        assert body["model"] == f"ollama:{OLLAMA_TOOLS}"


def test_openai_client_streams_tool_call_deltas(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    ollama.faults.say = ["Let me check. " + CALL]
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="auto",
                messages=[{"role": "user", "content": QUESTION}],
                tools=[WEATHER_TOOL],
                stream=True,
            )
        )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join(d.content or "" for d in deltas)
    assert text.strip() == "Let me check." and "<tool_call>" not in text
    pieces = [tc for d in deltas for tc in (d.tool_calls or [])]
    head, args = pieces[0], pieces[1:]
    assert head.index == 0 and head.id and head.type == "function"
    assert head.function.name == "get_weather"
    assert all(p.index == 0 and p.id is None and p.function.name is None for p in args)
    assert json.loads("".join(p.function.arguments for p in pieces)) == {
        "city": "Paris"
    }
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_ollama_client_tool_loop_over_vllm(
    vllm: OpenAITestServer, openai_profile: Path
) -> None:
    vllm.faults.say = [CALL, "Sunny."]
    with serving(openai_profile) as server:
        client = ollama.Client(host=server.url)
        messages: list[dict[str, object]] = [{"role": "user", "content": QUESTION}]
        reply = client.chat(
            model="auto", messages=messages, tools=[WEATHER_TOOL], stream=False
        )
        call = reply.message.tool_calls[0]
        assert call.function.name == "get_weather"
        assert call.function.arguments == {"city": "Paris"}  # an object, as Ollama
        # the vLLM-like upstream got OpenAI's tools and answered with parsed calls
        assert vllm.last.body["tools"][0]["function"]["name"] == "get_weather"
        messages.append(reply.message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "content": "sunny", "tool_name": "get_weather"}
        )
        final = client.chat(
            model="auto", messages=messages, tools=[WEATHER_TOOL], stream=False
        )
        assert final.message.content == "Sunny." and not final.message.tool_calls
        upstream = vllm.last.body["messages"]
        assert (
            upstream[-2]["tool_calls"][0]["function"]["arguments"]
            == '{"city": "Paris"}'
        )
        assert upstream[-1] == {
            "role": "tool",
            "content": "sunny",
            "name": "get_weather",
        }


def test_ollama_client_streams_tool_calls(
    vllm: OpenAITestServer, openai_profile: Path
) -> None:
    vllm.faults.say = [CALL]
    with serving(openai_profile) as server:
        parts = list(
            ollama.Client(host=server.url).chat(
                model="auto",
                messages=[{"role": "user", "content": QUESTION}],
                tools=[WEATHER_TOOL],
                stream=True,
            )
        )
    calls = [c for p in parts for c in (p.message.tool_calls or [])]
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert parts[-1].done and parts[-1].done_reason == "stop"


def test_a_request_with_tools_leaves_a_route_whose_model_has_none(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    ollama.faults.say = [CALL]
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        reply = client.chat.completions.create(
            model="auto:math",
            messages=[{"role": "user", "content": "Solve 2+2 with the tool."}],
            tools=[WEATHER_TOOL],
        )
    # the math route forced by name: its Qwen2-Math takes no tools, so general serves
    assert reply.model_extra["qwen_router"]["model"] == f"ollama:{OLLAMA_TOOLS}"
    assert reply.choices[0].finish_reason == "tool_calls"
    assert reply.model_extra["qwen_router"]["verification"] is None  # no math check


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("functions", [{"name": "f", "parameters": {}}]),
        ("logprobs", True),
        ("tool_choice", "required"),
    ],
)
def test_what_cannot_be_done_is_a_400(
    ollama: OllamaTestServer, ollama_profile: Path, field: str, value: object
) -> None:
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="auto",
                messages=[{"role": "user", "content": "hi"}],
                tools=[WEATHER_TOOL],
                extra_body={field: value},
            )
    assert caught.value.status_code == 400
    assert field.split("_")[0] in str(caught.value) or "required" in str(caught.value)


def test_response_format_json_object_is_passed_to_ollama(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    ollama.faults.say = ['{"name": "Ada", "age": 36}']
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        reply = client.chat.completions.create(
            model="auto",
            messages=[
                {"role": "user", "content": "Who wrote the first program? JSON."}
            ],
            response_format={"type": "json_object"},
        )
    assert json.loads(reply.choices[0].message.content) == {"name": "Ada", "age": 36}
    assert ollama.requests[-1][1]["format"] == "json"
    verification = reply.model_extra["qwen_router"]["verification"]
    assert (
        verification["verifier"] == "structured"
        and verification["status"] == "verified"
    )
    assert verification["method"].startswith("server")


def test_a_malformed_answer_is_repaired_once_then_refused(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}},
        "required": ["age"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "age", "schema": schema}}
    with serving(ollama_profile) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        ollama.faults.say = ['{"age": "old"}', '{"age": 36}']
        fixed = client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": "Age?"}],
            response_format=fmt,
        )
        assert json.loads(fixed.choices[0].message.content) == {"age": 36}
        assert fixed.model_extra["qwen_router"]["repairs"] == 1
        assert ollama.requests[-1][1]["format"] == schema
        ollama.faults.say = ["no json here", "still none"]
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="auto",
                messages=[{"role": "user", "content": "Age?"}],
                response_format=fmt,
            )
    assert caught.value.status_code == 502
    assert "response_format" in str(caught.value)

"""LangChain on both sides: ``langchain-openai`` / ``langchain-ollama`` against
``qwen-router serve``, and :class:`qwen_router.ChatQwenRouter` as the model of
``langchain.agents.create_agent`` and LangGraph's ``create_react_agent``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel
from qwen_router import ChatQwenRouter, Router
from support.ollama_server import OllamaTestServer
from support.openai_server import OpenAITestServer

from .conftest import OLLAMA_TOOLS, serving

CALL = (
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}, 21 C"


class Person(BaseModel):
    name: str
    age: int


def test_chat_openai_bind_tools_and_structured_output(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    from langchain_openai import ChatOpenAI

    with serving(ollama_profile) as server:
        llm = ChatOpenAI(
            base_url=f"{server.url}/v1", api_key="x", model="auto", max_retries=0
        )
        ollama.faults.say = [CALL]
        reply = llm.bind_tools([get_weather]).invoke(
            "What's the weather in Paris? Use the tool."
        )
        assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
            ("get_weather", {"city": "Paris"})
        ]
        ollama.faults.say = ['{"name": "Ada", "age": 36}']
        person = llm.with_structured_output(Person).invoke("Ada Lovelace, 36. As JSON.")
        assert person == Person(name="Ada", age=36)
        # json_schema went upstream as Ollama's format (the schema itself)
        assert (
            ollama.requests[-1][1]["format"]["properties"]["age"]["type"] == "integer"
        )


def test_chat_ollama_bind_tools_streamed_and_structured_output(
    vllm: OpenAITestServer, openai_profile: Path
) -> None:
    from langchain_ollama import ChatOllama

    with serving(openai_profile) as server:
        llm = ChatOllama(base_url=server.url, model="auto")
        vllm.faults.say = [CALL]
        chunks = list(
            llm.bind_tools([get_weather]).stream("Weather in Paris? Use the tool.")
        )
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged += chunk
        assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
            ("get_weather", {"city": "Paris"})
        ]
        vllm.faults.say = ['{"name": "Ada", "age": 36}']
        person = llm.with_structured_output(Person).invoke("Ada Lovelace, 36. As JSON.")
        assert person == Person(name="Ada", age=36)
        assert vllm.last.body["response_format"]["type"] == "json_schema"


def test_chat_qwen_router_invoke_stream_batch_and_metadata(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    llm = ChatQwenRouter(Router(ollama_profile))
    ollama.faults.say = ["Hello there."]
    reply = llm.invoke("Say hello.")
    assert isinstance(reply, AIMessage) and reply.content == "Hello there."
    meta = reply.response_metadata["qwen_router"]
    assert meta["route"] == "general" and meta["model"] == f"ollama:{OLLAMA_TOOLS}"
    assert reply.usage_metadata["output_tokens"] > 0
    ollama.faults.say = ["Streamed answer."]
    chunks = list(llm.stream("Say something."))
    assert "".join(str(c.content) for c in chunks) == "Streamed answer."
    assert chunks[-1].response_metadata["qwen_router"]["route"] == "general"
    ollama.faults.say = ["one", "two"]
    answers = llm.batch(["First?", "Second?"], config={"max_concurrency": 1})
    assert sorted(a.content for a in answers) == ["one", "two"]


def test_chat_qwen_router_tool_loop_and_structured_output(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    llm = ChatQwenRouter(Router(ollama_profile))
    ollama.faults.say = [CALL, "It is sunny."]
    bound = llm.bind_tools([get_weather])
    first = bound.invoke([HumanMessage("Weather in Paris? Use the tool.")])
    call = first.tool_calls[0]
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    final = bound.invoke(
        [HumanMessage("Weather in Paris? Use the tool."), first, result]
    )
    assert final.content == "It is sunny." and not final.tool_calls
    assert any(
        s.startswith("tool_loop:")
        for s in final.response_metadata["qwen_router"]["signals"]
    )
    for method in ("json_schema", "function_calling", "json_mode"):
        said = '{"name": "Ada", "age": 36}'
        if method == "function_calling":
            said = '<tool_call>\n{"name": "Person", "arguments": {"name": "Ada", "age": 36}}\n</tool_call>'
        ollama.faults.say = [said]
        schema = Person if method != "json_mode" else None
        structured = llm.with_structured_output(schema, method=method)
        out = structured.invoke("Ada Lovelace, 36.")
        expected = Person(name="Ada", age=36) if schema else {"name": "Ada", "age": 36}
        assert out == expected, method


def test_create_agent_two_step_loop(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    from langchain.agents import create_agent

    agent = create_agent(ChatQwenRouter(Router(ollama_profile)), tools=[get_weather])
    ollama.faults.say = [CALL, "It is sunny in Paris."]
    state = agent.invoke(
        {"messages": [HumanMessage("Weather in Paris? Use the tool.")]}
    )
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert state["messages"][2].content == "sunny in Paris, 21 C"
    assert state["messages"][-1].content == "It is sunny in Paris."


def test_create_react_agent_streams_messages(
    ollama: OllamaTestServer, ollama_profile: Path
) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(
        ChatQwenRouter(Router(ollama_profile)), tools=[get_weather]
    )
    ollama.faults.say = [CALL, "Sunny and warm."]
    seen = list(
        agent.stream(
            {"messages": [HumanMessage("Weather in Paris? Use the tool.")]},
            stream_mode="messages",
        )
    )
    tokens = [
        m
        for m, meta in seen
        if isinstance(m, AIMessageChunk) and meta["langgraph_node"] == "agent"
    ]
    assert "".join(str(t.content) for t in tokens).endswith("Sunny and warm.")
    calls = [c for t in tokens for c in t.tool_call_chunks]
    assert calls and calls[0]["name"] == "get_weather"
    assert json.loads("".join(c["args"] or "" for c in calls)) == {"city": "Paris"}
    assert any(isinstance(m, ToolMessage) for m, _ in seen)


def test_chat_qwen_router_async(ollama: OllamaTestServer, ollama_profile: Path) -> None:
    llm = ChatQwenRouter(Router(ollama_profile))
    ollama.faults.say = ["async one", "async two"]

    async def run() -> tuple[AIMessage, list[AIMessageChunk]]:
        reply = await llm.ainvoke("First?")
        return reply, [c async for c in llm.astream("Second?")]

    reply, chunks = asyncio.run(run())
    assert reply.content == "async one"
    assert "".join(str(c.content) for c in chunks) == "async two"

"""``build_graph`` is the one factory: alone it enforces a thinking budget exactly as
``Router`` does, checks the profile's names when built, resolves a relative
``templates_dir`` against the profile file, and streams the answer's tokens through
LangGraph's standard ``messages`` mode. Tiny real Qwen3 (random weights, seeded)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph
from qwen_router import Router, RouteRequest
from qwen_router.backends.fake import FakeBackend
from qwen_router.errors import ConfigError
from qwen_router.graph import build_graph
from qwen_router.thinking import EARLY_STOP_SENTENCE

BUDGET = 3


@pytest.fixture(scope="module")
def think_profile(tiny_qwen3: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    route = (
        f"    model: hf:{tiny_qwen3}\n"
        f'    thinking: {{mode: "on", budget: {BUDGET}}}\n'
        "    params: {max_tokens: 24, seed: 0, temperature: 0.0}\n"
    )
    path = tmp_path_factory.mktemp("budget") / "think.yaml"
    path.write_text(
        "name: think\nclassifier: {embedding: false}\n"
        "backends:\n  hf: {device: cpu, dtype: float32}\n"
        f"routes:\n  general:\n{route}",
        encoding="utf-8",
    )
    return path


def _request(text: str) -> RouteRequest:
    return RouteRequest(messages=[{"role": "user", "content": text}])


def test_bare_build_graph_enforces_the_budget_like_router(think_profile: Path) -> None:
    request = _request("What is the capital of France?")
    bare = build_graph(think_profile).invoke({"request": request})["result"]
    with Router(think_profile) as router:
        routed = router.invoke(request)
    for result in (bare, routed):
        assert result.thinking_budget_hit
        assert 0 < result.usage.thinking_tokens <= BUDGET
        assert result.thinking and result.thinking.endswith(EARLY_STOP_SENTENCE)
    assert (bare.answer, bare.thinking, bare.usage.thinking_tokens) == (
        routed.answer,
        routed.thinking,
        routed.usage.thinking_tokens,
    )
    step = next(e for e in bare.trace if e.node == "thinking_budget")
    assert step.detail["budget"] == BUDGET and step.detail["budget_hit"] is True
    nodes = [e.node for e in bare.trace]
    assert nodes.index("generate") < nodes.index("thinking_budget")


def _fake_profile(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "profiles" / "p.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        "name: p\nclassifier: {embedding: false}\nroutes:\n"
        f"  general:\n    model: fake:x\n{extra}",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("extra", "field", "name"),
    [
        ("    template: generl\n", "routes.general.template", "generl"),
        ("    verifiers: [maths]\n", "routes.general.verifiers[0]", "maths"),
        ("    fallbacks: [vllm:x]\n", "routes.general.fallbacks[0]", "vllm"),
    ],
)
def test_a_typo_fails_when_built_and_names_the_field(
    tmp_path: Path, extra: str, field: str, name: str
) -> None:
    path = _fake_profile(tmp_path, extra)
    for build in (Router, build_graph):
        with pytest.raises(ConfigError) as info:
            build(path)
        message = str(info.value)
        assert field in message and repr(name) in message and str(path) in message


def test_relative_templates_dir_resolves_against_the_profile_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _fake_profile(tmp_path, "    template: house\n")
    path.write_text(path.read_text(encoding="utf-8") + "templates_dir: templates\n")
    (path.parent / "templates").mkdir()
    (path.parent / "templates" / "house.yaml").write_text("system: house style\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    backend = FakeBackend(reply="ok")
    with Router(path, backends={"fake": backend}) as router:
        result = router.invoke("hello")
    render = next(e for e in result.trace if e.node == "render")
    assert render.detail["source"] == str(path.parent / "templates" / "house.yaml")


def _agent(tmp_path: Path) -> object:
    router = Router(_fake_profile(tmp_path), backends={"fake": FakeBackend(reply="one two three")})
    parent = StateGraph(MessagesState)
    parent.add_node("qwen", router.graph)
    parent.add_edge(START, "qwen")
    return parent.compile()


def test_messages_stream_of_a_parent_graph_yields_the_answer_tokens(tmp_path: Path) -> None:
    app = _agent(tmp_path)
    items = list(
        app.stream(  # type: ignore[attr-defined]
            {"messages": [HumanMessage(content="hello")]}, stream_mode="messages", subgraphs=True
        )
    )
    chunks = [m for _, (m, _meta) in items if isinstance(m, AIMessageChunk)]
    assert "".join(str(c.content) for c in chunks) == "one two three"
    assert len(chunks) > 1
    meta = next(meta for _, (m, meta) in items if isinstance(m, AIMessageChunk))
    assert meta["langgraph_node"] == "generate"
    finals = [m for _, (m, _meta) in items if isinstance(m, AIMessage) and not isinstance(m, AIMessageChunk)]
    assert finals == []  # the final AIMessage has the chunks' id: not sent twice


def test_async_messages_stream(tmp_path: Path) -> None:
    app = _agent(tmp_path)

    async def run() -> list[str]:
        return [
            str(m.content)
            async for _ns, (m, _meta) in app.astream(  # type: ignore[attr-defined]
                {"messages": [HumanMessage(content="hello")]},
                stream_mode="messages",
                subgraphs=True,  # LangGraph's contract for a model inside a subgraph
            )
            if isinstance(m, AIMessageChunk)
        ]

    assert "".join(asyncio.run(run())) == "one two three"


def test_the_graph_itself_streams_messages(tmp_path: Path) -> None:
    with Router(_fake_profile(tmp_path), backends={"fake": FakeBackend(reply="a b")}) as router:
        chunks = [
            m
            for m, _meta in router.graph.stream({"request": _request("hi")}, stream_mode="messages")
            if isinstance(m, AIMessageChunk)
        ]
    assert "".join(str(c.content) for c in chunks) == "a b"
    assert len({c.id for c in chunks}) == 1

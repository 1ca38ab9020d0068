"""The compiled graph and Router, end to end on a tiny real Qwen2 (random weights)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph
from qwen_router import InputError, Router, RouteRequest, RouteResult
from qwen_router.errors import ConfigError, ModelNotFound
from support.scripted import ScriptedBackend


def _request(text: str) -> RouteRequest:
    return RouteRequest(messages=[{"role": "user", "content": text}])


@pytest.fixture(scope="module")
def router(tiny_profile_yaml: Path) -> Iterator[Router]:
    with Router(tiny_profile_yaml) as r:
        yield r


def test_invoke_routes_and_answers(router: Router) -> None:
    result = router.invoke("Write a python function to reverse a linked list")
    assert isinstance(result, RouteResult)
    assert result.route == "code"
    assert result.backend == "hf" and result.model.startswith("hf:")
    assert result.usage.prompt_tokens > 0 and 0 < result.usage.completion_tokens <= 8
    assert [e.node for e in result.trace] == ["guard", "classify", "select", "render", "generate"]
    assert result.timings.total_ms >= result.timings.generate_ms > 0


def test_math_route_runs_the_verifier(router: Router) -> None:
    result = router.invoke("Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3")
    assert result.route == "math"
    assert result.verification is not None
    assert result.verification.status in {"unverifiable", "refuted", "verified"}
    assert "verify" in [e.node for e in result.trace]


def test_stream_yields_tokens_nodes_and_result(router: Router) -> None:
    events = list(router.stream("Tell me about the history of Rome"))
    tokens = "".join(e.text for e in events if e.type == "token")
    nodes = [e.node for e in events if e.type == "node"]
    results = [e.result for e in events if e.type == "result"]
    assert nodes[:5] == ["guard", "classify", "select", "render", "generate"]
    assert len(results) == 1 and results[0] is not None
    assert tokens == results[0].answer or tokens.strip() == results[0].answer.strip()


def test_async_and_batch(router: Router) -> None:
    result = asyncio.run(router.ainvoke("hello there"))
    assert result.route == "general" and result.answer is not None
    batch = router.batch(["hello", "Solve 2x + 3 = 7 for x", "def f(x): return x"], max_concurrency=2)
    assert [r.route for r in batch] == ["general", "math", "code"]
    abatch = asyncio.run(router.abatch(["hi", "hello"], max_concurrency=2))
    assert len(abatch) == 2


def test_forced_route_and_model(router: Router, tiny_qwen3: Path) -> None:
    result = router.invoke("hello", route="code")
    assert result.route == "code" and result.decision.forced
    result = router.invoke("hello", model=f"hf:{tiny_qwen3}")
    assert result.model == f"hf:{tiny_qwen3}"


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], InputError),
        ("   ", InputError),
        ([{"role": "assistant", "content": "only me"}], InputError),
        ([{"role": "user", "content": [{"type": "image", "image": "/no/such/file.png"}]}], InputError),
    ],
)
def test_bad_input_is_a_typed_error(router: Router, messages: object, error: type) -> None:
    with pytest.raises(error):
        router.invoke(messages)  # type: ignore[arg-type]


def test_unknown_route_and_missing_model(router: Router, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown route"):
        router.invoke("hi", route="poetry")
    with pytest.raises(ModelNotFound):
        router.invoke("hi", model=f"hf:{tmp_path / 'nothing-here'}")
    with pytest.raises(ConfigError):
        router.invoke("hi", model="nonsense")


def test_graph_is_a_subgraph_of_a_messages_agent(router: Router) -> None:
    parent = StateGraph(MessagesState)
    parent.add_node("qwen", router.graph)
    parent.add_edge(START, "qwen")
    app = parent.compile()
    out = app.invoke({"messages": [HumanMessage(content="Solve 3x = 12 for x")]})
    last = out["messages"][-1]
    assert isinstance(last, AIMessage)
    assert last.response_metadata["qwen_router"]["route"] == "math"


def test_graph_has_one_planning_node_then_generate_verify_repair_respond(
    router: Router,
) -> None:
    drawn = router.graph.get_graph()
    assert set(drawn.nodes) == {
        "__start__", "plan", "generate", "verify", "repair", "respond", "__end__"
    }
    edges = {(e.source, e.target) for e in drawn.edges}
    assert ("__start__", "plan") in edges and ("plan", "generate") in edges
    assert {("generate", "verify"), ("generate", "respond"), ("verify", "repair"),
            ("verify", "respond"), ("repair", "generate")} <= edges


def test_common_path_takes_three_supersteps(router: Router) -> None:
    steps = list(router.graph.stream({"request": _request("hello there")}, stream_mode="updates"))
    assert [next(iter(s)) for s in steps] == ["plan", "generate", "respond"]


def test_refuted_answer_triggers_one_repair_with_the_finding(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: scripted\nroutes:\n  general: {model: 'fake:x'}\n"
        "  math: {model: 'fake:x', verifiers: [math], max_repairs: 1}\n",
        encoding="utf-8",
    )
    backend = ScriptedBackend(["f'(x) = 3x^2 + 4x", "So f'(x) = \\boxed{3x^2 + 4x - 5}"])
    with Router(profile, backends={"fake": backend}) as scripted:
        result = scripted.invoke("Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3")
    assert result.repairs == 1
    assert result.verification is not None and result.verification.status == "verified"
    assert "3x^2 + 4x - 5" in result.answer
    repair_prompt = backend.prompts[1]
    assert "checker" in repair_prompt[-1] and repair_prompt[-2] == "f'(x) = 3x^2 + 4x"
    assert [e.node for e in result.trace].count("generate") == 2

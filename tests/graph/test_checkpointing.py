"""The routing graph under a LangGraph checkpointer: each turn of a thread is planned,
verified and answered afresh, and its state survives the checkpoint's serializer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from qwen_router import Router, RouteRequest
from support.scripted import ScriptedBackend

MATH = "Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3"
PROFILE = (
    "name: scripted\nroutes:\n  general: {model: 'fake:x'}\n"
    "  math: {model: 'fake:x', verifiers: [math], max_repairs: 1}\n"
)


def test_a_checkpointed_thread_answers_each_turn_afresh(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    backend = ScriptedBackend(["So f'(x) = \\boxed{3x^2 + 4x - 5}", "Paris."])
    config = {"configurable": {"thread_id": "one"}}
    with Router(profile, backends={"fake": backend}, checkpointer=InMemorySaver()) as router:
        first = router.invoke(MATH, config)
        time.sleep(0.2)
        start = time.perf_counter()
        second = router.invoke("What is the capital of France?", config)
        wall_ms = (time.perf_counter() - start) * 1000
        state = router.graph.get_state(config).values
    assert first.route == "math" and first.verification is not None
    assert first.verification.status == "verified"
    # the second turn is its own: not the first turn's verified answer, and timed from
    # its own start
    assert second.route == "general" and second.answer == "Paris."
    assert second.verification is None and second.repairs == 0
    assert [e.node for e in second.trace] == ["guard", "classify", "select", "render", "generate"]
    assert second.timings.total_ms <= wall_ms
    assert [m.content for m in state["messages"]] == [first.answer, "Paris."]
    assert state["result"] == second


def test_a_thread_fed_messages_answers_the_newest_turn(tmp_path: Path) -> None:
    """Fed ``messages`` (the way a LangGraph agent calls it), each turn of a thread
    routes the conversation so far, not the typed request of an earlier turn."""
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    backend = ScriptedBackend(["So f'(x) = \\boxed{3x^2 + 4x - 5}", "Paris."])
    config = {"configurable": {"thread_id": "agent"}}
    with Router(profile, backends={"fake": backend}, checkpointer=InMemorySaver()) as router:
        first = RouteRequest(messages=[{"role": "user", "content": MATH}])
        router.graph.invoke({"request": first}, config)
        out = router.graph.invoke(
            {"messages": [HumanMessage("What is the capital of France?")]}, config
        )
    assert out["result"].answer == "Paris." and out["result"].repairs == 0
    assert [e.node for e in out["result"].trace][:4] == ["guard", "classify", "select", "render"]
    assert out["result"].trace[0].detail["messages"] == 2  # the thread's turns so far
    assert [m.content for m in out["messages"]][-2:] == ["What is the capital of France?", "Paris."]


def test_the_state_round_trips_under_strict_msgpack(tmp_path: Path) -> None:
    """LangGraph's strict checkpoint serializer loads only the types it finds in the
    state schema; every type the graph keeps in its state must be among them."""
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
        from langgraph.checkpoint.memory import InMemorySaver
        from qwen_router import Router
        from support.scripted import ScriptedBackend
        from test_checkpointing import MATH

        backend = ScriptedBackend(["f'(x) = 3x^2", "So f'(x) = \\\\boxed{{3x^2 + 4x - 5}}"])
        config = {{"configurable": {{"thread_id": "one"}}}}
        with Router({str(profile)!r}, backends={{"fake": backend}},
                    checkpointer=InMemorySaver()) as router:
            result = router.invoke(MATH, config)
            values = router.graph.get_state(config).values
        assert result.repairs == 1, result
        assert values["result"] == result, values
        print("round-tripped", sorted(values))
        """
    )
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "round-tripped" in done.stdout
    assert "Blocked deserialization" not in done.stderr

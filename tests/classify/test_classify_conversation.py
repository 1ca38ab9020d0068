"""Conversation-aware routing: follow-ups, tool loops, recorded routes, sessions."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from qwen_router.classify import CascadeClassifier, SessionStore
from qwen_router.classify.conversation import is_follow_up, read_context
from qwen_router.lc import from_langchain
from qwen_router.types import Message

CODE_Q = "Write a Python function that reverses a linked list."
MATH_Q = "Solve for x: 3x + 7 = 22. Show the steps."
GENERAL_Q = "Write a short poem about autumn leaves in a quiet park."


def _chat(*turns: str, route: str | None = None) -> list[Message]:
    out = []
    for i, t in enumerate(turns):
        if i:
            out.append(Message(role="assistant", content="(answer)", route=route))
        out.append(Message(role="user", content=t))
    return out


@pytest.mark.parametrize(
    ("first", "follow", "route"),
    [
        (CODE_Q, "Now make it faster", "code"),
        (MATH_Q, "What about n = 10?", "math"),
        (
            CODE_Q,
            "Does there exist an implementation with better time complexity?",
            "code",
        ),
        (GENERAL_Q, "Rewrite your previous response so every line rhymes.", "general"),
        (
            MATH_Q,
            "And in Spanish?",
            "multilingual",
        ),  # a language request says otherwise
    ],
)
def test_follow_up_inherits_from_content(
    classifier: CascadeClassifier, first: str, follow: str, route: str
) -> None:
    d = classifier.classify(_chat(first, follow))
    assert d.route == route, d
    if route != "multilingual":
        assert d.stage == "conversation"
        assert any("follow-up: inherits" in s and "content" in s for s in d.signals)


@pytest.mark.parametrize(
    ("first", "question"),
    [
        (MATH_Q, "What is the capital of France?"),
        (MATH_Q, "Who wrote Hamlet?"),
        (CODE_Q, "Who painted the Mona Lisa?"),
        (CODE_Q, "Recommend a good book about the French revolution."),
    ],
)
def test_a_short_question_with_its_own_subject_changes_the_topic(
    classifier: CascadeClassifier, first: str, question: str
) -> None:
    """A short question that names its own subject and points nowhere back is not a
    follow-up: it is routed on its own words (the earlier route only weighs in)."""
    d = classifier.classify(_chat(first, question))
    assert d.route == "general" and d.stage != "conversation", d


@pytest.mark.parametrize(
    ("first", "follow", "route"),
    [
        (CODE_Q, "Translate to Java", "code"),  # a command, not a question
        (CODE_Q, "How would this look in Go?", "code"),  # points back
        (CODE_Q, "What about TypeScript?", "code"),  # a continuation cue
        (MATH_Q, "Is x = 5 a solution for Peano?", "math"),  # a variable
    ],
)
def test_a_short_turn_with_a_name_that_leans_back_still_inherits(
    classifier: CascadeClassifier, first: str, follow: str, route: str
) -> None:
    d = classifier.classify(_chat(first, follow))
    assert d.route == route and d.stage == "conversation", d


def test_spanish_follow_up_keeps_the_math_label(classifier: CascadeClassifier) -> None:
    d = classifier.classify(_chat(MATH_Q, "¿Y cuál es la respuesta en español?"))
    assert d.route == "multilingual" and d.lang == "es"


def test_alone_the_follow_up_would_route_elsewhere(
    classifier: CascadeClassifier,
) -> None:
    alone = classifier.classify([Message(role="user", content="Now make it faster")])
    assert alone.route == "general"


def test_recorded_route_wins_over_content(classifier: CascadeClassifier) -> None:
    d = classifier.classify(_chat(GENERAL_Q, "Now make it shorter", route="code"))
    assert d.route == "code" and any("metadata" in s for s in d.signals), d


def test_follow_up_that_clearly_says_otherwise(classifier: CascadeClassifier) -> None:
    d = classifier.classify(_chat(GENERAL_Q, "Now solve $\\int_0^1 x^2 \\, dx$."))
    assert d.route == "math" and d.stage != "conversation", d


def test_long_self_contained_turn_uses_its_own_route(
    classifier: CascadeClassifier,
) -> None:
    second = (
        "Write a SQL query that lists every customer who placed more than three orders "
        "in 2023, together with the total value of those orders, sorted by that total."
    )
    d = classifier.classify(_chat(GENERAL_Q, second))
    assert d.route == "code", d


def test_tool_loop_stays_on_its_route(classifier: CascadeClassifier) -> None:
    msgs = [
        HumanMessage(content=MATH_Q),
        AIMessage(content="", tool_calls=[{"id": "c1", "name": "calc", "args": {"e": "22-7"}}],
                  response_metadata={"qwen_router": {"route": "math"}}),
        ToolMessage(content="15", tool_call_id="c1"),
    ]  # fmt: skip
    messages = from_langchain(msgs)
    assert messages[1].route == "math"  # from_langchain keeps the recorded route
    ctx = read_context(messages)
    assert ctx.tool_loop and ctx.previous_route == "math" and ctx.source == "metadata"
    d = classifier.classify(messages)
    assert d.route == "math" and any(
        s.startswith("tool loop: stays on math") for s in d.signals
    )


def test_from_langchain_reads_the_graph_metadata() -> None:
    msgs = from_langchain([
        HumanMessage(content=CODE_Q),
        AIMessage(content="def f(): ...", response_metadata={"qwen_router": {"route": "code"}}),
        HumanMessage(content="thanks, and in Rust?"),
    ])  # fmt: skip
    assert [m.route for m in msgs] == [None, "code", None]


def test_session_pins_the_route_for_stateless_clients() -> None:
    clf = CascadeClassifier(sessions=SessionStore(ttl_s=60, max_sessions=8))
    first = clf.classify([Message(role="user", content=CODE_Q)], session_id="s1")
    assert first.route == "code"
    d = clf.classify(
        [Message(role="user", content="Now make it faster")], session_id="s1"
    )
    assert d.route == "code" and any("session" in s for s in d.signals), d
    other = clf.classify(
        [Message(role="user", content="Now make it faster")], session_id="s2"
    )
    assert other.route == "general"


def test_async_classify_uses_the_session_too() -> None:
    clf = CascadeClassifier(sessions=SessionStore())
    asyncio.run(clf.aclassify([Message(role="user", content=MATH_Q)], session_id="a"))
    d = asyncio.run(
        clf.aclassify([Message(role="user", content="and for 5?")], session_id="a")
    )
    assert d.route == "math"


def test_session_store_ttl_and_bound() -> None:
    now = [0.0]
    store = SessionStore(ttl_s=10, max_sessions=3, clock=lambda: now[0])
    for i in range(5):
        store.put(f"s{i}", "code")
    assert len(store) == 3 and store.get("s0") is None and store.get("s4") == "code"
    now[0] = 11.0
    assert store.get("s4") is None  # expired
    store.put("x" * 10_000, "math")
    assert (
        store.get("x" * 10_000) == "math" and len(SessionStore.key("x" * 10_000)) == 256
    )
    with pytest.raises(ValueError):
        SessionStore(ttl_s=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Now make it faster", True),
        ("And in Spanish?", True),
        ("Express z-x in y", True),
        ("Is it prime?", True),
        ("What is the capital of France?", False),
        ("Who wrote Hamlet?", False),
        (
            "Rewrite your previous response. Start every sentence with the letter A.",
            True,
        ),
        (
            CODE_Q + " " + CODE_Q + " It must run in linear time and use O(1) memory, "
            "and it must handle empty lists, single nodes, and cycles gracefully.",
            False,
        ),
    ],
)
def test_is_follow_up(text: str, expected: bool) -> None:
    assert is_follow_up(text) is expected

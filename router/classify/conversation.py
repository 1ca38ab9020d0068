"""What the conversation says about the new message: the previous route, tool loops,
and whether the new user turn is a short follow-up.

The previous route comes, in this order, from the assistant turn's own record (a
``Message.route``, which ``from_langchain`` fills from the ``response_metadata
["qwen_router"]["route"]`` that the router's graph puts on its answers), from the
session store (:mod:`qwen_router.classify.session`), or from the content itself: the
cascade classifies the latest earlier user turn that stands on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qwen_router.types import Message

from .patterns import Rule, ScanText

__all__ = ["Context", "is_follow_up", "read_context"]

# A turn that leans on the previous one: a continuation cue at the start, or a
# reference back to the earlier answer. Bounded patterns over a short text only.
_CUE = Rule(
    r"^[\s\"'(]{0,4}(now|and|also|then|so|ok(ay)?|but|what about|how about|what if|"
    r"instead|again|same|next|great|thanks|cool|nice|perfect|good|can you|could you|"
    r"would you|please|make it|make them|do it|do the same|try|rewrite|rephrase|"
    r"shorter|longer|simpler|faster|slower|more|less|why|explain|continue|go on|"
    r"another|one more|add|remove|change|use|show me)\b",
    re.I,
)
_STRONG_REFERENCE = Rule(
    r"\b(these|those|the (previous|last|above|same|listed|given|mentioned|earlier)|"
    r"your (answer|response|code|solution|function|program|previous|last|reply|"
    r"example|story|poem|essay|email|list|plan)|above|previous|earlier|aforementioned)\b",
    re.I,
)
# A short question stands on its own when it names a subject of its own (a name: "What
# is the capital of France?", "Who wrote Hamlet?") and has nothing that leans back: no
# continuation cue, no pronoun or pointer to the earlier answer, no variable or
# operator ("Express z-x in y" continues a math turn). A short command ("Translate to
# Java"), or a question without a name, is taken as a follow-up.
_QUESTION = Rule(
    r"^[\s\"'(]{0,4}(what|who|whom|whose|where|when|which|how|is|are|was|were|do|"
    r"does|did|has|have|tell me|recommend|suggest)\b|\?[\s\"')]{0,4}$",
    re.I,
)
_LEANS_BACK = Rule(
    r"\b(it|its|this|that|these|those|they|them|their|he|she|him|her|his|one|ones|"
    r"same|such|there|here|then|so|too|also|else|other|another|instead|again|"
    r"the (answer|result|output|code|function|program|script|solution|equation|"
    r"problem|story|poem|text|list|first|second|last|previous|above))\b",
    re.I,
)
_VARIABLE_OR_OPERATOR = Rule(r"(?<![\w'])[b-hj-z](?![\w'])|[=+*/^<>]")
_NAME = re.compile(r"(?<![.!?:]\s)(?<=\s)(?:[A-Z][a-z]{1,30}|[A-Z]{2,10})\b")
_SHORT_WORDS = 12
_CUE_WORDS = 60
_REFERENCE_WORDS = 250


@dataclass(frozen=True)
class Context:
    """The conversation around the message being routed."""

    previous_route: str | None = None
    source: str | None = None  # "metadata" | "session" | "content"
    tool_loop: bool = False
    follow_up: bool = False
    previous_text: str | None = None  # earlier user turn, for a content prior


def is_follow_up(text: str) -> bool:
    """A turn that leans on the previous one: short (at most 12 words: "Now make it
    faster", "What about n = 10?", "Express z-x in y"; not one that names a subject
    of its own and points nowhere back, "Who wrote Hamlet?"), up to 60 words that start
    with a continuation cue ("Now we define..."), or a turn whose opening points back
    at the earlier one ("Rewrite your previous response...", "With the listed
    principles, ...")."""
    sample = text.strip()[:2000]
    words = len(sample.split())
    if not words:
        return False
    scan = ScanText.of(sample)
    if words <= _SHORT_WORDS:
        return not _names_its_own_subject(sample, scan)
    if words <= _CUE_WORDS and _CUE.search(scan):
        return True
    opening = scan[:300]
    return words <= _REFERENCE_WORDS and _STRONG_REFERENCE.search(opening) is not None


def _names_its_own_subject(sample: str, scan: ScanText) -> bool:
    return (
        _QUESTION.search(scan) is not None
        and _NAME.search(sample) is not None
        and _CUE.search(scan) is None
        and _LEANS_BACK.search(scan) is None
        and _VARIABLE_OR_OPERATOR.search(scan) is None
    )


def _users(messages: Sequence[Message]) -> list[int]:
    return [i for i, m in enumerate(messages) if m.role == "user"]


def read_context(
    messages: Sequence[Message], session_route: str | None = None
) -> Context:
    """Previous route (with its source), tool loop and follow-up for ``messages``."""
    users = _users(messages)
    last_user = users[-1] if users else -1
    tail = messages[last_user + 1 :]
    last = messages[-1] if messages else None
    tool_loop = bool(
        last is not None
        and (
            last.role == "tool"
            or (last.role == "assistant" and bool(getattr(last, "tool_calls", None)))
        )
    )
    if not tool_loop and tail:
        tool_loop = any(
            m.role == "tool" or getattr(m, "tool_calls", None) for m in tail
        )
    route, source = None, None
    for m in reversed(messages):
        recorded = getattr(m, "route", None)
        if m.role == "assistant" and recorded:
            route, source = str(recorded), "metadata"
            break
    if route is None and session_route:
        route, source = session_route, "session"
    previous_text = None
    earlier = users[:-1] if not tool_loop else users
    for i in reversed(earlier[-4:]):
        candidate = messages[i].text
        previous_text = candidate
        if not is_follow_up(candidate):
            break
    follow_up = bool(
        users and (len(users) > 1 or route) and is_follow_up(messages[last_user].text)
    )
    if route is None and previous_text is not None and (follow_up or tool_loop):
        source = "content"
    return Context(
        previous_route=route,
        source=source,
        tool_loop=tool_loop,
        follow_up=follow_up,
        previous_text=previous_text,
    )

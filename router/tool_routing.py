"""Routing with tools: which models may take a request that offers tools, and keeping
a conversation in the middle of a tool loop on the model that made the call.

Pure functions, plus :class:`ToolLoopMemory`, a bounded map from the tool call ids a
router handed out to the route and model that made them. The router pins a request
before the policy runs (:func:`pin_tool_loop`); the policy reads the pin from the
request (:func:`plan_tools`), so the policy stays a pure function of its inputs.

Whether a model supports tools comes from, in order: the profile's ``models:`` entry
(``tools: true|false``) when the profile declares one, else the model family table
(``tool_call_format: none`` means no tools: Qwen2.5-Math, Qwen2-Math). A model the
table does not know is assumed able; its backend checks at run time (an in-process
model's chat template must take ``tools``; an Ollama model must list the ``tools``
capability) and refuses with a 400-class ``ModelCapabilityError``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .profiles import ModelSpec, Profile, parse_model_spec
from .thinking.families import family_for
from .types import Message, RouteRequest, RouteResult

__all__ = [
    "TOOL_LOOP_KEY",
    "ToolLoopMemory",
    "ToolPlan",
    "model_supports_tools",
    "pin_tool_loop",
    "plan_tools",
    "tool_loop_call_ids",
]

TOOL_LOOP_KEY = "qwen_router.tool_loop"


def tool_loop_call_ids(messages: Sequence[Message]) -> list[str] | None:
    """The call ids of an open tool loop, or ``None`` when the conversation is not in
    one. Open: the last messages are tool results, or the last message is an
    assistant turn that called tools."""
    results: list[str] = []
    for message in reversed(messages):
        if message.role == "tool":
            if message.tool_call_id:
                results.append(message.tool_call_id)
            continue
        if message.role == "assistant" and message.tool_calls:
            return [c.id for c in message.tool_calls]
        break
    return results or None


class ToolLoopMemory:
    """Which route and model made each tool call this router handed out (bounded)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._calls: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, result: RouteResult) -> None:
        with self._lock:
            for call in result.tool_calls:
                self._calls[call.id] = (result.route, result.model)
                self._calls.move_to_end(call.id)
            while len(self._calls) > self.size:
                self._calls.popitem(last=False)

    def lookup(self, ids: Iterable[str]) -> tuple[str, str] | None:
        with self._lock:
            for call_id in ids:
                if call_id in self._calls:
                    return self._calls[call_id]
        return None


def pin_tool_loop(request: RouteRequest, memory: ToolLoopMemory) -> RouteRequest:
    """``request`` with its tool loop's route and model in its metadata (when it is
    in a loop and the model is known). A pin already there is kept."""
    if TOOL_LOOP_KEY in request.metadata:
        return request
    ids = tool_loop_call_ids(request.messages)
    if ids is None:
        return request
    found = memory.lookup(ids)
    pin: dict[str, Any] = {"ids": ids, "route": None, "model": None}
    if found is not None:
        pin.update(route=found[0], model=found[1])
    return request.model_copy(
        update={"metadata": {**request.metadata, TOOL_LOOP_KEY: pin}}
    )


def model_supports_tools(profile: Profile, spec: ModelSpec) -> bool | None:
    """Whether ``spec`` can call tools: ``True``/``False`` when declared (profile or
    family table), ``None`` when nothing says (the backend checks at run time)."""
    models = getattr(profile, "models", None) or {}
    entry = models.get(str(spec)) if hasattr(models, "get") else None
    declared = getattr(entry, "tools", None)
    if declared is None and isinstance(entry, dict):
        declared = entry.get("tools")
    if isinstance(declared, bool):
        return declared
    family = family_for(spec.backend, spec.name)
    if family.tool_call_format == "none":
        return False
    return True if family.name != "default" else None


@dataclass
class ToolPlan:
    """What tools change about a selection: the route, pinned candidates, and why."""

    route: str
    candidates: list[ModelSpec] | None = None
    reasons: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)


def _route_models(profile: Profile, route: str) -> list[ModelSpec]:
    spec = profile.route(route)
    return [parse_model_spec(s) for s in [spec.model, *spec.fallbacks]]


def _able(profile: Profile, specs: list[ModelSpec]) -> list[ModelSpec]:
    return [s for s in specs if model_supports_tools(profile, s) is not False]


def plan_tools(profile: Profile, request: RouteRequest, route: str) -> ToolPlan:
    """Pin a tool loop to its model; send a request with tools to models that take them.

    Raises:
        InputError: the request offers tools and no model of the profile takes them.
    """
    plan = ToolPlan(route=route)
    pin = request.metadata.get(TOOL_LOOP_KEY) or {}
    if request.model:
        return plan
    if pin.get("model"):
        model = parse_model_spec(str(pin["model"]))
        if pin.get("route") in profile.routes and not request.route:
            plan.route = str(pin["route"])
        rest = [s for s in _route_models(profile, plan.route) if s != model]
        plan.candidates = [model, *(_able(profile, rest) if request.tools else rest)]
        plan.reasons.append(f"tool loop: stays on {model}, which made the call")
        plan.signals.append(f"tool_loop:{model}")
        return plan
    if pin:
        plan.signals.append("tool_loop:unknown_model")
    if not request.offered_tools:
        return plan
    able = _able(profile, _route_models(profile, route))
    if able:
        dropped = len(_route_models(profile, route)) - len(able)
        if dropped:
            plan.candidates = able
            plan.reasons.append(
                f"tools: {dropped} model(s) of route {route} take no tools"
            )
        return plan
    for other in ["general", *profile.routes]:
        if other in profile.routes and (
            able := _able(profile, _route_models(profile, other))
        ):
            plan.route, plan.candidates = other, able
            plan.reasons.append(
                f"tools: route {route}'s models take no tools; served by {other} ({able[0]})"
            )
            plan.signals.append(f"tools_reroute:{route}->{other}")
            return plan
    raise InputError(
        f"no model in profile {profile.name!r} supports tools",
        hint="serve a route with a tool-calling model (Qwen2.5 / Qwen3 instruct)",
    )

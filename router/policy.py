"""The routing policy: a pure function from a decision and a profile to a selection.

No I/O here. The classifier reports labels and language; the policy decides which
route, template, model, verifiers and thinking settings serve the request.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .errors import InputError
from .profiles import ModelSpec, Profile, RouteSpec, parse_model_spec
from .types import GenerationParams, Message, RouteDecision, RouteRequest

__all__ = ["Selection", "decide", "soft_thinking_switch"]


class Selection(BaseModel):
    """Everything the graph needs to serve the request on one route."""

    route: str
    template: str
    spec: RouteSpec
    candidates: list[ModelSpec]
    verifiers: list[str] = Field(default_factory=list)
    max_repairs: int = 0
    params: GenerationParams = Field(default_factory=GenerationParams)
    thinking: bool | None = None
    thinking_budget: int | None = None
    reasons: list[str] = Field(default_factory=list)


def soft_thinking_switch(messages: list[Message]) -> bool | None:
    """Qwen3's ``/think`` and ``/no_think`` in user turns; the most recent wins."""
    for message in reversed(messages):
        if message.role != "user":
            continue
        text = message.text
        think, no_think = text.rfind("/think"), text.rfind("/no_think")
        if think >= 0 or no_think >= 0:
            return think > no_think
    return None


def _thinking(spec: RouteSpec, decision: RouteDecision, request: RouteRequest) -> tuple[bool | None, list[str]]:
    if request.thinking is not None:
        return request.thinking, [f"thinking {'on' if request.thinking else 'off'}: request"]
    if request.thinking_budget == 0:
        return False, ["thinking off: budget 0"]
    switch = soft_thinking_switch(request.messages)
    if switch is not None:
        return switch, [f"thinking {'on' if switch else 'off'}: user soft switch"]
    mode = spec.thinking.mode
    if mode == "auto":
        hard = (decision.difficulty or 0.0) >= 0.5
        return hard, [f"thinking {'on' if hard else 'off'}: auto, difficulty {decision.difficulty}"]
    return (mode == "on"), [f"thinking {mode}: route policy"]


def decide(decision: RouteDecision, profile: Profile, request: RouteRequest) -> tuple[RouteDecision, Selection]:
    """Pick the route and everything that serves it.

    Raises:
        InputError: the request forces a route the profile does not have.
    """
    reasons: list[str] = []
    template: str | None = None
    verifiers: list[str] = []
    if request.route:
        if request.route not in profile.routes:
            raise InputError(
                f"unknown route {request.route!r}", hint=f"routes: {', '.join(profile.routes)}"
            )
        route = request.route
        decision = decision.model_copy(update={"route": route, "forced": True})
        reasons.append(f"route forced by caller: {route}")
    else:
        route = decision.route
        lang = decision.lang
        if "math" in decision.labels and lang and lang not in profile.policy.math_languages:
            route = profile.policy.non_english_math_route
            template = profile.policy.non_english_math_template
            verifiers = list(profile.routes.get("math", profile.route(route)).verifiers)
            reasons.append(f"math in {lang}: {route} model with the {template} template")
        if route not in profile.routes:
            reasons.append(f"profile has no route {route!r}: general")
            route = "general"
        if route != decision.route:
            decision = decision.model_copy(update={"route": route})
    spec = profile.route(route)
    verifiers = verifiers or list(spec.verifiers)
    thinking, why = _thinking(spec, decision, request)
    reasons += why
    if request.model:
        candidates = [parse_model_spec(request.model)]
        reasons.append(f"model forced by caller: {request.model}")
    else:
        candidates = [parse_model_spec(s) for s in [spec.model, *spec.fallbacks]]
    budget = request.thinking_budget if request.thinking_budget is not None else spec.thinking.budget
    selection = Selection(
        route=route,
        template=template or spec.template or route,
        spec=spec,
        candidates=candidates,
        verifiers=verifiers,
        max_repairs=spec.max_repairs if verifiers else 0,
        params=spec.params.merged(request.params),
        thinking=thinking,
        thinking_budget=budget if thinking else None,
        reasons=reasons,
    )
    return decision, selection

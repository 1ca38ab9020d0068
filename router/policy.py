"""The routing policy: a pure function from a decision and a profile to a selection.

No I/O here (model awareness reads a local model folder's ``config.json`` once,
cached). The classifier reports labels and language; the policy decides which route,
template, model, verifiers and thinking settings serve the request.

Thinking, in order: ``request.thinking`` > ``request.thinking_budget == 0`` (off) >
the user's ``/think`` / ``/no_think`` (most recent wins) > the route's mode (``auto``:
on when ``decision.difficulty >= AUTO_THINKING_THRESHOLD``). Then the first candidate
model clamps it (Instruct-2507 off, Thinking-2507 / QwQ on, non-thinking models
``None``) and Qwen's sampling defaults for the mode fill the unset parameters.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pydantic import BaseModel, Field

from .errors import InputError
from .profiles import ModelSpec, Profile, RouteSpec, parse_model_spec, split_model_spec
from .thinking.families import FamilyTable, family_for, table_for
from .thinking.models import apply_sampling_defaults, clamp_thinking, thinking_family
from .thinking.policy import budget_for, sampling_mode
from .tool_routing import plan_tools
from .types import GenerationParams, Message, RouteDecision, RouteRequest

__all__ = ["AUTO_THINKING_THRESHOLD", "Selection", "decide", "soft_thinking_switch"]


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


_SWITCH = re.compile(r"(?<![\w/])/(no_)?think\b")

# ``thinking: auto`` turns thinking on from this classifier difficulty up.
AUTO_THINKING_THRESHOLD = 0.5


def soft_thinking_switch(messages: list[Message]) -> bool | None:
    """Qwen3's ``/think`` / ``/no_think`` in user or system turns; the most recent wins.

    Raises:
        Nothing.
    """
    for message in reversed(messages):
        if message.role not in ("user", "system"):
            continue
        found = _SWITCH.findall(message.text)
        if found:
            return found[-1] != "no_"
    return None


def _wanted_thinking(
    spec: RouteSpec, decision: RouteDecision, request: RouteRequest
) -> tuple[bool, str]:
    """Request override > budget 0 > soft switch > route mode (auto by difficulty)."""
    if request.thinking is not None:
        return request.thinking, "request"
    if request.thinking_budget == 0:
        return False, "request budget 0"
    switch = soft_thinking_switch(request.messages)
    if switch is not None:
        return switch, "user soft switch"
    mode = spec.thinking.mode
    if spec.thinking.budget == 0 and mode != "off":
        return False, "route budget 0"
    if mode == "auto":
        difficulty = decision.difficulty or 0.0
        hard = difficulty >= AUTO_THINKING_THRESHOLD
        return (
            hard,
            f"auto, difficulty {difficulty:.2f} {'>=' if hard else '<'} "
            f"{AUTO_THINKING_THRESHOLD}",
        )
    return mode == "on", "route policy"


def _thinking(
    spec: RouteSpec,
    decision: RouteDecision,
    request: RouteRequest,
    model: ModelSpec,
    table: FamilyTable | None = None,
) -> tuple[bool | None, int | None, list[str]]:
    """Thinking on/off (``None``: the model has no thinking), its budget, and why."""
    wanted, source = _wanted_thinking(spec, decision, request)
    reasons = [f"thinking {'on' if wanted else 'off'}: {source}"]
    family = thinking_family(model.backend, model.name, table=table)
    thinking, why = clamp_thinking(family, wanted)
    if why:
        reasons.append(f"thinking {_word(thinking)}: {model} — {why}")
    if not thinking:
        return thinking, None, reasons
    budget = request.thinking_budget
    if budget is None and spec.thinking.budget != 0:  # a route off by budget 0 and
        budget, why = budget_for(  # overridden to think gets no budget
            spec.thinking.budget, spec.thinking.budget_by_difficulty, decision.difficulty
        )
        reasons += [why] if why else []
    if budget == 0 and family != "always":
        reasons.append("thinking off: budget 0")
        return False, None, reasons
    if budget == 0:  # only an always-thinking model gets here
        reasons.append(
            "thinking budget 0 on an always-thinking model: thought closed at once"
        )
    reasons.append(f"thinking budget: {budget if budget is not None else 'unlimited'}")
    return thinking, budget, reasons


def _word(thinking: bool | None) -> str:
    return "n/a" if thinking is None else "on" if thinking else "off"


def decide(
    decision: RouteDecision,
    profile: Profile,
    request: RouteRequest,
    *,
    known_backends: Collection[str] = (),
) -> tuple[RouteDecision, Selection]:
    """Pick the route and everything that serves it.

    ``known_backends``: backend names a caller-forced ``request.model`` may use besides
    the registered ones (the instances handed to the Router).

    Raises:
        InputError: the request forces a route the profile does not have.
        ConfigError: the request forces a malformed model spec or an unknown backend.
    """
    reasons: list[str] = []
    template: str | None = None
    verifiers: list[str] = []
    if request.route:
        if request.route not in profile.routes:
            raise InputError(
                f"unknown route {request.route!r}",
                hint=f"routes: {', '.join(profile.routes)}",
            )
        route = request.route
        decision = decision.model_copy(update={"route": route, "forced": True})
        reasons.append(f"route forced by caller: {route}")
    else:
        route = decision.route
        lang = decision.lang
        math_spec = profile.routes.get("math")
        math_verifiers = list(math_spec.verifiers) if math_spec else ["math"]
        if route == "vision":
            if "math" in decision.labels:
                verifiers = math_verifiers
                reasons.append(
                    "vision request that is also math: the math verifier runs"
                )
        elif (
            "math" in decision.labels
            and lang
            and lang not in profile.policy.math_languages
        ):
            route = profile.policy.non_english_math_route
            template = profile.policy.non_english_math_template
            verifiers = math_verifiers
            reasons.append(
                f"math in {lang}: {route} model with the {template} template"
            )
        if route not in profile.routes:
            reasons.append(f"profile has no route {route!r}: general")
            route = "general"
        if route != decision.route:
            decision = decision.model_copy(update={"route": route})
    tools = plan_tools(profile, request, route)  # tool loops and tool-capable models
    if tools.route != route:
        route = tools.route
        decision = decision.model_copy(update={"route": route})
    if tools.signals:
        decision = decision.model_copy(update={"signals": [*decision.signals, *tools.signals]})
    reasons += tools.reasons
    spec = profile.route(route)
    verifiers = verifiers or list(spec.verifiers)
    if request.model:
        candidates = [parse_model_spec(request.model, extra=known_backends)]
        reasons.append(f"model forced by caller: {request.model}")
    elif tools.candidates:
        candidates = tools.candidates
    else:
        # the profile's own specs were checked when it was loaded
        candidates = [split_model_spec(s) for s in [spec.model, *spec.fallbacks]]
    table = table_for(tuple(profile.families))
    thinking, budget, why = _thinking(spec, decision, request, candidates[0], table)
    reasons += why
    entry = family_for(candidates[0].backend, candidates[0].name, table=table)
    params, why = apply_sampling_defaults(
        spec.params.merged(request.params), sampling_mode(thinking, budget), entry
    )
    reasons += why
    selection = Selection.model_construct(
        route=route,
        template=template or spec.template or route,
        spec=spec,
        candidates=candidates,
        verifiers=verifiers,
        max_repairs=spec.max_repairs if verifiers else 0,
        params=params,
        thinking=thinking,
        thinking_budget=budget,
        reasons=reasons,
    )
    return decision, selection

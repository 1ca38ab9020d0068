"""``policy.decide`` as a table: for each combination of the classifier's route, labels
and language (and the caller's overrides), the route, template, verifiers, thinking
and model the request is served with. Pure: no model runs."""

from __future__ import annotations

import pytest
from qwen_router.errors import InputError
from qwen_router.policy import decide
from qwen_router.profiles import Profile
from qwen_router.types import Message, RouteDecision, RouteRequest

PROFILE = Profile.model_validate(
    {
        "name": "table",
        "routes": {
            "general": {"model": "ollama:qwen3:8b", "thinking": {"mode": "off"}},
            "code": {
                "model": "ollama:qwen2.5-coder:7b",
                "fallbacks": ["ollama:qwen3:8b"],
            },
            "math": {
                "model": "ollama:qwen3:30b-a3b-thinking-2507",
                "verifiers": ["math"],
                "max_repairs": 2,
                "thinking": {"mode": "on", "budget": 256},
            },
            "vision": {"model": "ollama:qwen2.5vl:7b"},
            "multilingual": {"model": "ollama:qwen3:8b", "thinking": {"mode": "auto"}},
        },
    }
)

QWEN3 = "ollama:qwen3:8b"
CODER = "ollama:qwen2.5-coder:7b"
MATH = "ollama:qwen3:30b-a3b-thinking-2507"
VL = "ollama:qwen2.5vl:7b"

# (classifier route, labels, lang, difficulty) ->
#     (route, template, verifiers, max_repairs, thinking, budget, first model)
# Borrowed math verifiers repair as often as the serving route allows (default 1).
CASES = [
    ("general", [], "en", None, ("general", "general", [], 0, False, None, QWEN3)),
    ("general", [], "fr", None, ("general", "general", [], 0, False, None, QWEN3)),
    ("code", ["code"], "en", None, ("code", "code", [], 0, None, None, CODER)),
    ("code", ["code", "math"], "en", None, ("code", "code", [], 0, None, None, CODER)),
    ("math", ["math"], "en", None, ("math", "math", ["math"], 2, True, 256, MATH)),
    ("math", ["math"], "zh", None, ("math", "math", ["math"], 2, True, 256, MATH)),
    # non-English math: the multilingual model, with the math template and verifier
    ("math", ["math"], "fr", None, ("multilingual", "math", ["math"], 1, False, None, QWEN3)),
    ("math", ["math"], "de", 0.9, ("multilingual", "math", ["math"], 1, True, None, QWEN3)),
    ("multilingual", ["math"], "ja", None, ("multilingual", "math", ["math"], 1, False, None, QWEN3)),
    ("multilingual", [], "ja", 0.2, ("multilingual", "multilingual", [], 0, False, None, QWEN3)),
    ("multilingual", [], "ja", 0.8, ("multilingual", "multilingual", [], 0, True, None, QWEN3)),
    ("vision", ["vision"], "en", None, ("vision", "vision", [], 0, None, None, VL)),
    # a picture of a math problem: the vision model, checked by the math verifier
    ("vision", ["vision", "math"], "en", None, ("vision", "vision", ["math"], 1, None, None, VL)),
    ("vision", ["vision", "math"], "fr", None, ("vision", "vision", ["math"], 1, None, None, VL)),
    # a route the profile lacks falls back to general
    ("poetry", [], "en", None, ("general", "general", [], 0, False, None, QWEN3)),
]


def _request(**overrides: object) -> RouteRequest:
    return RouteRequest(messages=[Message(role="user", content="q")], **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(("route", "labels", "lang", "difficulty", "expected"), CASES)
def test_decide_table(
    route: str,
    labels: list[str],
    lang: str,
    difficulty: float | None,
    expected: tuple[object, ...],
) -> None:
    decision = RouteDecision(route=route, confidence=0.9, labels=labels, lang=lang, difficulty=difficulty)
    decided, selection = decide(decision, PROFILE, _request())
    got = (
        selection.route,
        selection.template,
        selection.verifiers,
        selection.max_repairs,
        selection.thinking,
        selection.thinking_budget,
        str(selection.candidates[0]),
    )
    assert got == expected
    assert decided.route == selection.route


# caller overrides -> (route, template, verifiers, thinking, budget, models)
OVERRIDES = [
    ({"route": "code"}, "math", ("code", "code", [], None, None, [CODER, QWEN3])),
    ({"route": "math"}, "general", ("math", "math", ["math"], True, 256, [MATH])),
    ({"model": "ollama:qwen3:14b"}, "general", ("general", "general", [], False, None, ["ollama:qwen3:14b"])),
    ({"thinking": True}, "general", ("general", "general", [], True, None, [QWEN3])),
    ({"thinking_budget": 64}, "math", ("math", "math", ["math"], True, 64, [MATH])),
    # budget 0 asks for no thinking; an always-thinking model closes its thought at once
    ({"thinking_budget": 0}, "math", ("math", "math", ["math"], True, 0, [MATH])),
    ({"thinking_budget": 0, "route": "general"}, "math", ("general", "general", [], False, None, [QWEN3])),
]


@pytest.mark.parametrize(("overrides", "classified", "expected"), OVERRIDES)
def test_decide_with_caller_overrides(
    overrides: dict[str, object], classified: str, expected: tuple[object, ...]
) -> None:
    decision = RouteDecision(route=classified, confidence=0.9, labels=[classified], lang="en")
    decided, selection = decide(decision, PROFILE, _request(**overrides))
    got = (
        selection.route,
        selection.template,
        selection.verifiers,
        selection.thinking,
        selection.thinking_budget,
        [str(c) for c in selection.candidates],
    )
    assert got == expected
    assert decided.forced == ("route" in overrides)


def test_soft_switch_turns_thinking_on_for_one_request() -> None:
    decision = RouteDecision(route="general", confidence=0.9, lang="en")
    request = RouteRequest(messages=[Message(role="user", content="why is the sky blue /think")])
    assert decide(decision, PROFILE, request)[1].thinking is True


def test_a_forced_unknown_route_is_an_input_error() -> None:
    decision = RouteDecision(route="general", confidence=0.9)
    with pytest.raises(InputError, match="unknown route"):
        decide(decision, PROFILE, _request(route="poetry"))

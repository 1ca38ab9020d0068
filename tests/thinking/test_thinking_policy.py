"""The thinking part of ``decide``: a table of cases, and what the prompt becomes."""

from __future__ import annotations

from typing import Any

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.policy import decide, soft_thinking_switch
from qwen_router.profiles import Profile
from qwen_router.types import GenerationParams, Message, RouteDecision, RouteRequest

HYBRID = "ollama:qwen3:8b"


def _profile(
    model: str = HYBRID, mode: str = "auto", budget: int | None = 256, **params: Any
) -> Profile:
    route = {
        "model": model,
        "thinking": {"mode": mode, "budget": budget},
        "params": params,
    }
    return Profile.model_validate(
        {"name": "t", "routes": {"general": route, "math": route}}
    )


def _decide(
    text: str | list[Message] = "hi",
    *,
    profile: Profile | None = None,
    difficulty: float | None = None,
    **request: Any,
) -> Any:
    messages = [Message(role="user", content=text)] if isinstance(text, str) else text
    decision = RouteDecision(route="math", confidence=0.9, difficulty=difficulty)
    return decide(
        decision, profile or _profile(), RouteRequest(messages=messages, **request)
    )[1]


@pytest.mark.parametrize(
    ("kwargs", "thinking", "budget"),
    [
        ({"difficulty": 0.9}, True, 256),  # auto, hard
        ({"difficulty": 0.1}, False, None),  # auto, easy
        ({"difficulty": None}, False, None),  # auto, no signal
        ({"profile": _profile(mode="on")}, True, 256),
        ({"profile": _profile(mode="on", budget=None)}, True, None),
        ({"profile": _profile(mode="off"), "difficulty": 0.9}, False, None),
        (
            {"profile": _profile(mode="on", budget=0)},
            False,
            None,
        ),  # route budget 0: off
        ({"thinking": True, "difficulty": 0.0}, True, 256),  # request override
        ({"thinking": False, "difficulty": 0.9}, False, None),
        ({"thinking_budget": 0, "difficulty": 0.9}, False, None),  # budget 0 is off
        ({"thinking_budget": 32, "difficulty": 0.9}, True, 32),
        ({"text": "hard one /no_think", "difficulty": 0.9}, False, None),  # soft switch
        ({"text": "easy /think", "difficulty": 0.0}, True, 256),
        (
            {"text": "easy /think", "thinking": False},
            False,
            None,
        ),  # request beats switch
        (
            {"text": "x /think", "thinking_budget": 0},
            False,
            None,
        ),  # budget 0 beats switch
    ],
)
def test_thinking_decision(
    kwargs: dict[str, Any], thinking: bool, budget: int | None
) -> None:
    selection = _decide(**kwargs)
    assert (selection.thinking, selection.thinking_budget) == (thinking, budget)


@pytest.mark.parametrize(
    ("model", "wanted", "thinking"),
    [
        ("hf:Qwen/Qwen3-4B-Instruct-2507", True, False),
        ("hf:Qwen/Qwen3-4B-Thinking-2507", False, True),
        ("ollama:qwq", False, True),
        ("hf:Qwen/Qwen2.5-7B-Instruct", True, None),
        ("gguf:smollm2-135m-instruct", True, None),
    ],
)
def test_model_awareness_clamps(
    model: str, wanted: bool, thinking: bool | None
) -> None:
    selection = _decide(profile=_profile(model=model), thinking=wanted)
    assert selection.thinking is thinking
    assert any(model in reason for reason in selection.reasons)


def test_forced_model_is_the_one_clamped() -> None:
    selection = _decide(thinking=True, model="hf:Qwen/Qwen3-4B-Instruct-2507")
    assert selection.thinking is False


def test_most_recent_soft_switch_wins() -> None:
    def user(text: str) -> Message:
        return Message(role="user", content=text)

    assistant = Message(role="assistant", content="ok /think")
    assert (
        soft_thinking_switch([user("a /think"), assistant, user("b /no_think")])
        is False
    )
    assert (
        soft_thinking_switch([user("a /no_think"), assistant, user("b /think")]) is True
    )
    assert soft_thinking_switch([user("/think then /no_think")]) is False
    assert soft_thinking_switch([user("/no_think then /think")]) is True
    assert (
        soft_thinking_switch([user("a /think"), assistant, user("no switch")]) is True
    )
    assert soft_thinking_switch([user("see http://x.org/think and /thinking")]) is None
    messages = [user("a /no_think"), assistant, user("b /think")]
    assert _decide(messages, difficulty=0.0).thinking is True


def test_sampling_defaults_follow_the_mode() -> None:
    on, off = _decide(thinking=True).params, _decide(thinking=False).params
    assert (on.temperature, on.top_p, on.top_k) == (0.6, 0.95, 20)
    assert (off.temperature, off.top_p, off.top_k) == (0.7, 0.8, 20)
    profiled = _decide(
        profile=_profile(temperature=0.2, top_k=5), thinking=False
    ).params
    assert (profiled.temperature, profiled.top_p, profiled.top_k) == (0.2, 0.8, 5)
    greedy = _decide(thinking=True, params=GenerationParams(temperature=0.0)).params
    assert greedy.temperature == 0.6
    plain = _decide(
        profile=_profile(model="hf:Qwen/Qwen2.5-7B-Instruct"), thinking=True
    ).params
    assert plain == GenerationParams()


def _rendered(hf_backend: Any, qwen3: str, text: str, **kwargs: Any) -> str:
    profile = kwargs.pop("profile", None) or _profile(model=f"hf:{qwen3}")
    selection = _decide(text, profile=profile, **kwargs)
    request = GenerateRequest(
        model=qwen3,
        messages=[Message(role="user", content=text)],
        thinking=selection.thinking,
    )
    return str(hf_backend.render_prompt(request))


EMPTY_THOUGHT = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_soft_switches_change_the_rendered_prompt(hf_backend: Any, qwen3: str) -> None:
    assert _rendered(hf_backend, qwen3, "2+2? /no_think", difficulty=0.9).endswith(
        EMPTY_THOUGHT
    )
    thinking = _rendered(hf_backend, qwen3, "2+2? /think", difficulty=0.0)
    assert thinking.endswith("<|im_start|>assistant\n") and "</think>" not in thinking


def test_route_policy_changes_the_rendered_prompt(hf_backend: Any, qwen3: str) -> None:
    off = _profile(model=f"hf:{qwen3}", mode="off")
    on = _profile(model=f"hf:{qwen3}", mode="on")
    assert _rendered(hf_backend, qwen3, "2+2?", profile=off).endswith(EMPTY_THOUGHT)
    assert "</think>" not in _rendered(hf_backend, qwen3, "2+2?", profile=on)
    assert _rendered(hf_backend, qwen3, "2+2?", difficulty=0.1).endswith(EMPTY_THOUGHT)
    assert "</think>" not in _rendered(hf_backend, qwen3, "2+2?", difficulty=0.9)

"""The thinking part of the routing policy: difficulty -> budget, and what a budget of
0 means for a model.

A route's ``thinking.budget_by_difficulty`` (``{easy: 0, medium: 512, hard: 2048}``)
picks the budget from ``decision.difficulty`` (0..1): below
:data:`MEDIUM_FROM` is easy, below :data:`HARD_FROM` medium, the rest hard. A level
left out falls back to the route's ``budget``. A budget of 0 turns thinking off on a
model that can switch (so it also samples with non-thinking settings); an
always-thinking model gets its thought closed at once and its answer sampled with the
non-thinking preset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = [
    "HARD_FROM",
    "MEDIUM_FROM",
    "DifficultyLevel",
    "budget_for",
    "difficulty_level",
    "sampling_mode",
]

DifficultyLevel = Literal["easy", "medium", "hard"]
MEDIUM_FROM = 1 / 3
HARD_FROM = 2 / 3


def difficulty_level(difficulty: float) -> DifficultyLevel:
    """The level of a 0..1 difficulty."""
    if difficulty >= HARD_FROM:
        return "hard"
    return "medium" if difficulty >= MEDIUM_FROM else "easy"


def budget_for(
    budget: int | None,
    by_difficulty: Mapping[str, int] | None,
    difficulty: float | None,
) -> tuple[int | None, str | None]:
    """The route's budget for this request, and why (``None``: the plain ``budget``).

    Raises:
        Nothing.
    """
    if not by_difficulty or difficulty is None:
        return budget, None
    level = difficulty_level(difficulty)
    if level not in by_difficulty:
        return budget, None
    chosen = by_difficulty[level]
    return chosen, f"thinking budget {chosen}: difficulty {difficulty:.2f} is {level}"


def sampling_mode(thinking: bool | None, budget: int | None) -> bool | None:
    """The mode whose sampling preset applies: a thought closed at once (budget 0)
    answers with non-thinking settings.

    Raises:
        Nothing.
    """
    if thinking and budget == 0:
        return False
    return thinking

"""The thinking-budget controller (:mod:`.controller`), its pure pass plan
(:mod:`.plan`) and how it continues a turn on each backend (:mod:`.continuation`)."""

from __future__ import annotations

from .controller import (
    BudgetController,
    agenerate_with_budget,
    arun_with_budget,
    generate_with_budget,
    run_with_budget,
)

__all__ = [
    "BudgetController",
    "agenerate_with_budget",
    "arun_with_budget",
    "generate_with_budget",
    "run_with_budget",
]

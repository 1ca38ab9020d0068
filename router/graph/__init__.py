"""The routing graph: :func:`build_graph` compiles a profile into a LangGraph
``CompiledStateGraph`` whose state is :class:`RouterState`.

Modules: :mod:`.build` (the factory), :mod:`.steps` (the graph's shape, and the
direct stepper ``Router.invoke`` runs it with), :mod:`.compiled` (the shape as a
LangGraph ``StateGraph``), :mod:`.state` and :mod:`.run_state`, :mod:`.assets`
(templates and verifiers checked and compiled once), :mod:`.planning` (the ``plan``
node), :mod:`.nodes` (generate, verify, repair, respond).
"""

from __future__ import annotations

from typing import Any

from .build import GraphParts, assemble, build_graph

__all__ = ["GraphParts", "RouterState", "assemble", "build_graph"]


def __getattr__(name: str) -> Any:
    if name == "RouterState":  # LangGraph loads with it
        from .state import RouterState

        return RouterState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

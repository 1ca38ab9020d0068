"""The routing graph: :func:`build_graph` compiles a profile into a LangGraph
``CompiledStateGraph`` whose state is :class:`RouterState`.

Modules: :mod:`.build` (the factory), :mod:`.state`, :mod:`.assets` (templates and
verifiers checked and compiled once), :mod:`.planning` (the ``plan`` node),
:mod:`.nodes` (generate, verify, repair, respond).
"""

from __future__ import annotations

from .build import GraphParts, assemble, build_graph
from .state import RouterState

__all__ = ["GraphParts", "RouterState", "assemble", "build_graph"]

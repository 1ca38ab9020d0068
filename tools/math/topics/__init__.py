"""Topic recognisers (number theory, digits and bases, counting, coordinates, systems).

Each module exposes ``recognize(question) -> Task | None`` and ``HANDLERS`` (task kind ->
recompute function); :mod:`qwen_router.tools.math.dispatch` combines them.
"""

__all__: list[str] = []

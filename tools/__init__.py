"""Tool nodes: answer verifiers and the thinking-budget controller."""

__all__: list[str] = []

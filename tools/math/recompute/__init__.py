"""Recomputing a question's answer with sympy: task shapes, shared readers, calculus handlers."""

__all__: list[str] = []

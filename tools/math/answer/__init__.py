"""Reading a model's answer: find the final answer, parse it, compare it with a gold one."""

__all__: list[str] = []

"""What a turn with tools or a ``response_format`` changes in the graph: the fields a
backend request carries, how JSON output was held, the check of a structured answer,
and the tool calls a result returns.

Used by :mod:`qwen_router.graph`; pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qwen_router.backends.types import Capabilities, GenerateResult

from .errors import StructuredOutputError
from .structured import check_structured, instruct, parse_response_format
from .types import Message, RouteRequest, Verification

__all__ = [
    "STRUCTURED_REPAIRS",
    "request_fields",
    "result_tool_calls",
    "structured_constraint",
    "verify_structured",
]

STRUCTURED_REPAIRS = 1  # one repair attempt for an answer that does not fit its format


def structured_constraint(capabilities: Capabilities) -> str:
    """How a backend holds output to a JSON format: ``server`` (the server enforces
    it), ``grammar`` (llama.cpp) or ``instructed`` (asked in a system message)."""
    return capabilities.structured_output or "instructed"


def request_fields(
    request: RouteRequest, capabilities: Capabilities, prompt: Sequence[Message]
) -> dict[str, Any]:
    """The ``GenerateRequest`` fields for tools and structured output.

    Raises:
        InputError: a malformed ``response_format``.
    """
    fmt = parse_response_format(request.response_format)
    messages = list(prompt)
    if fmt is not None and capabilities.structured_output != "server":
        messages = instruct(messages, fmt)
    return {
        "messages": messages,
        "response_format": fmt.openai() if fmt is not None else None,
        "tools": request.offered_tools,
        "tool_choice": request.tool_choice if request.offered_tools else None,
        "parallel_tool_calls": request.parallel_tool_calls,
    }


def verify_structured(
    request: RouteRequest, generation: GenerateResult, repairs: int
) -> Verification | None:
    """The check of a structured answer (``None`` when no format was asked for).

    Raises:
        StructuredOutputError: the answer does not fit, and the repair was spent.
    """
    fmt = parse_response_format(request.response_format)
    if fmt is None:
        return None
    constraint = generation.structured or "instructed"
    verification = check_structured(generation.text, fmt, constraint=constraint)
    if verification.status == "refuted" and repairs >= STRUCTURED_REPAIRS:
        raise StructuredOutputError(
            f"the answer does not fit the response_format after {repairs} repair "
            f"attempt(s): {verification.explanation}",
            hint="a model served by Ollama, vLLM or llama.cpp constrains its output",
            backend=generation.backend,
            model=generation.model,
        )
    return verification


def result_tool_calls(
    request: RouteRequest, generation: GenerateResult
) -> GenerateResult:
    """The generation with ``parallel_tool_calls: false`` applied (the first call
    only, as vLLM does)."""
    if request.parallel_tool_calls is False and len(generation.tool_calls) > 1:
        return generation.model_copy(update={"tool_calls": generation.tool_calls[:1]})
    return generation

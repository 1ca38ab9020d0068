"""What a route's model can do: tools, vision, thinking, context.

Declared per route in a profile (``capabilities: {tools: true, vision: false,
thinking: true, context: 32768}``); a field left out is derived from the model
family table, so every route has an answer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .families import FamilyTable, ModelFamily, family_for

__all__ = ["ModelCapabilities", "capabilities_of", "family_capabilities"]


class ModelCapabilities(BaseModel):
    """A route model's capabilities; ``None`` means "as the family table says"."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tools: bool | None = None
    vision: bool | None = None
    thinking: bool | None = None
    context: int | None = Field(default=None, ge=1)


def family_capabilities(family: ModelFamily) -> ModelCapabilities:
    """What the family table says a model of ``family`` can do."""
    return ModelCapabilities(
        tools=family.tool_call_format != "none",
        vision="image" in family.modalities,
        thinking=family.thinking.switch != "none" and family.thinking.switch != "never",
        context=family.context_length,
    )


def capabilities_of(
    spec: str,
    declared: ModelCapabilities | None = None,
    *,
    table: FamilyTable | None = None,
) -> ModelCapabilities:
    """``declared`` with every unset field filled from ``spec``'s family.

    Raises:
        Nothing: a spec without ``BACKEND:`` is matched by its whole text.
    """
    backend, _, name = spec.partition(":")
    derived = family_capabilities(family_for(backend, name or spec, table=table))
    if declared is None:
        return derived
    return derived.model_copy(update=declared.model_dump(exclude_none=True))

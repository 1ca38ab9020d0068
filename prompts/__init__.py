"""Prompt templates shipped with qwen-router, and their loader."""

from .loader import (
    LANGUAGE_NAMES,
    PromptTemplate,
    list_templates,
    load_template,
    render,
)

__all__ = ["LANGUAGE_NAMES", "PromptTemplate", "list_templates", "load_template", "render"]

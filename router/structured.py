"""Structured output: what a ``response_format`` asks for, how to ask a model that
cannot be constrained, and the check of its answer.

Accepted shapes (OpenAI's, and Ollama's ``format`` mapped onto them by the server):
``{"type": "text"}`` (no constraint), ``{"type": "json_object"}``,
``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``, or a bare
JSON schema. Anything else is an :class:`~qwen_router.errors.InputError`.

How the answer is made to fit, by backend: a server that takes the format (Ollama
``format``, OpenAI-compatible ``response_format``) enforces it (``"server"``);
llama.cpp compiles the schema to a grammar (``"grammar"``); transformers gets the
schema as an instruction (``"instructed"``). Every answer is then checked here
(:func:`check_structured`), with ``jsonschema`` when it is installed (full JSON
Schema) and otherwise with a subset check (``type``, ``required``, ``properties``,
``items``, ``enum``, ``additionalProperties: false``); a failed check goes through the
graph's repair loop once, then ends in :class:`~qwen_router.errors.StructuredOutputError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from .errors import InputError
from .types import Message, Verification

__all__ = [
    "STRUCTURED_VERIFIER",
    "StructuredFormat",
    "check_structured",
    "extract_json",
    "instruct",
    "parse_response_format",
]

STRUCTURED_VERIFIER = "structured"
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n?```$", re.S)


class StructuredFormat(BaseModel):
    """A normalised ``response_format``: JSON, with or without a schema."""

    kind: Literal["json_object", "json_schema"]
    schema_: dict[str, Any] | None = None
    name: str = "response"
    strict: bool | None = None

    def openai(self) -> dict[str, Any]:
        """As OpenAI's ``response_format``."""
        if self.kind == "json_object" or self.schema_ is None:
            return {"type": "json_object"}
        spec: dict[str, Any] = {"name": self.name, "schema": self.schema_}
        if self.strict is not None:
            spec["strict"] = self.strict
        return {"type": "json_schema", "json_schema": spec}

    def ollama(self) -> str | dict[str, Any]:
        """As Ollama's ``format``: the schema, or ``"json"``."""
        return dict(self.schema_) if self.schema_ is not None else "json"


def parse_response_format(fmt: Mapping[str, Any] | None) -> StructuredFormat | None:
    """The structured format ``fmt`` asks for; ``None`` for plain text.

    Raises:
        InputError: an unknown ``type``, or a ``json_schema`` without a schema.
    """
    if not fmt:
        return None
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return StructuredFormat(kind="json_object")
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise InputError(
                "response_format json_schema needs json_schema.schema (an object)"
            )
        return StructuredFormat(
            kind="json_schema",
            schema_=dict(schema),
            name=str(spec.get("name") or "response"),  # type: ignore[union-attr]
            strict=spec.get("strict"),  # type: ignore[union-attr]
        )
    if isinstance(kind, str) and kind not in (
        "object",
        "array",
        "string",
        "number",
        "integer",
        "boolean",
    ):
        raise InputError(
            f"response_format type {kind!r} is not supported",
            hint="use 'text', 'json_object' or 'json_schema'",
        )
    return StructuredFormat(kind="json_schema", schema_=dict(fmt))  # a bare schema


def instruct(messages: Sequence[Message], fmt: StructuredFormat) -> list[Message]:
    """``messages`` with a system instruction to answer in JSON (for a model no
    engine constrains). Appended to the first system message, or added first."""
    if fmt.schema_ is not None:
        note = (
            "Answer with one JSON object only, no prose and no code fences, that "
            f"matches this JSON schema:\n{json.dumps(fmt.schema_, ensure_ascii=False)}"
        )
    else:
        note = "Answer with one JSON object only, no prose and no code fences."
    out = list(messages)
    for i, message in enumerate(out):
        if message.role == "system":
            out[i] = message.model_copy(update={"content": f"{message.text}\n\n{note}"})
            return out
    return [Message(role="system", content=note), *out]


def extract_json(text: str) -> Any:
    """The JSON value in an answer (a ```json fence around it is allowed).

    Raises:
        ValueError: the answer is not JSON.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    return json.loads(body)


_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = _TYPES.get(kind)
    return expected is None or isinstance(value, expected)


def _subset_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """The subset of JSON Schema checked when ``jsonschema`` is not installed."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    if kinds and not any(_is_type(value, k) for k in kinds):
        return [f"{path}: expected {' or '.join(kinds)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']!r}"]
    errors: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(f"{path}: '{name}' is a required property")
        for name, item in value.items():
            if name in props:
                errors += _subset_errors(item, props[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: additional property '{name}' is not allowed")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            errors += _subset_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def _schema_errors(value: Any, schema: Mapping[str, Any]) -> tuple[list[str], str]:
    try:
        import jsonschema
    except ImportError:
        return _subset_errors(value, schema), "subset check"
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InputError(
            f"response_format schema is not a valid JSON schema: {exc.message}"
        ) from None
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    found = [
        f"$.{'.'.join(str(p) for p in e.path)}: {e.message}".replace("$.:", "$:")
        for e in errors
    ]
    return found, "jsonschema"


def check_structured(
    text: str, fmt: StructuredFormat, *, constraint: str
) -> Verification:
    """Whether ``text`` is the JSON ``fmt`` asks for. ``constraint`` names how the
    answer was made to fit (``server``, ``grammar``, ``instructed``).

    Raises:
        InputError: the request's schema is not a valid JSON schema.
    """
    try:
        value = extract_json(text)
    except ValueError as exc:
        return Verification(
            status="refuted",
            verifier=STRUCTURED_VERIFIER,
            explanation=f"the answer is not valid JSON ({exc}); answer with JSON only",
            method=constraint,
        )
    if fmt.schema_ is None:
        ok = isinstance(value, dict)
        return Verification(
            status="verified" if ok else "refuted",
            verifier=STRUCTURED_VERIFIER,
            extracted=json.dumps(value, ensure_ascii=False)[:200],
            explanation="" if ok else "the answer must be a JSON object",
            method=f"{constraint}; json",
        )
    errors, checker = _schema_errors(value, fmt.schema_)
    return Verification(
        status="refuted" if errors else "verified",
        verifier=STRUCTURED_VERIFIER,
        extracted=json.dumps(value, ensure_ascii=False)[:200],
        explanation=(
            "the JSON does not match the schema: " + "; ".join(errors[:5])
            if errors
            else ""
        ),
        method=f"{constraint}; {checker}",
    )

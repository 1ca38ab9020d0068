"""The one tool-call parser for Qwen output, whole or streamed.

Qwen models write tool calls in one of two formats, both inside ``<tool_call>`` tags:

- Hermes JSON (Qwen2.5, Qwen3)::

      <tool_call>
      {"name": "get_weather", "arguments": {"city": "Paris"}}
      </tool_call>

- ``qwen3_coder`` XML (Qwen3-Coder, Qwen3.5+)::

      <tool_call>
      <function=get_weather>
      <parameter=city>
      Paris
      </parameter>
      </function>
      </tool_call>

The block's first character says which (``{`` or ``<function=``), so one parser reads
both; a bare ``<function=...>...</function>`` block (a model that drops the outer tag)
is read too. :class:`ToolCallStream` is a small state machine over streamed text: it
passes text through, holds it back while a tag may be opening or a block is open, and
yields each call when its block closes. A block that does not parse (broken JSON, no
name) is reported as an :class:`~qwen_router.types.InvalidToolCall` and its raw text
goes back into the answer: nothing is lost, nothing raises.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qwen_router.types import InvalidToolCall, ToolCall, ToolSpec

__all__ = [
    "ParsedOutput",
    "ToolCallAssembler",
    "ToolCallStream",
    "new_call_id",
    "parse_tool_block",
    "parse_tool_calls",
]

_BLOCKS = {"<tool_call>": "</tool_call>", "<function=": "</function>"}
_FUNCTION = re.compile(r"<function=([^>\n]+)>(.*?)(?:</function>|\Z)", re.S)
_PARAMETER = re.compile(
    r"<parameter=([^>\n]+)>(.*?)(?:</parameter>|(?=<parameter=)|(?=</function>)|\Z)",
    re.S,
)
_JSON_TYPES = {"integer", "number", "boolean", "object", "array", "null"}


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id (``call_`` and 24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ParsedOutput:
    """Model output split into answer text, tool calls and blocks that did not parse."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid: list[InvalidToolCall] = field(default_factory=list)


def _schemas(tools: Sequence[ToolSpec]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        props = tool.function.parameters.get("properties")
        out[tool.function.name] = props if isinstance(props, Mapping) else {}
    return out


def _param_value(raw: str, schema: Mapping[str, Any] | None) -> Any:
    """An XML parameter's text as the type its schema declares (vLLM's rule)."""
    value = raw[1:] if raw.startswith("\n") else raw
    value = value[:-1] if value.endswith("\n") else value
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    kinds = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    if kinds and not kinds & _JSON_TYPES:
        return value  # a declared string stays exactly as written
    try:
        return json.loads(value)
    except ValueError:
        if kinds & {"boolean"} and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return value


def _xml_call(body: str, schemas: Mapping[str, Mapping[str, Any]]) -> ToolCall | str:
    match = _FUNCTION.search(body)
    if match is None:
        return "no <function=NAME> in the tool call"
    name = match.group(1).strip()
    if not name:
        return "the tool call has an empty function name"
    props = schemas.get(name, {})
    arguments = {
        p.group(1).strip(): _param_value(p.group(2), props.get(p.group(1).strip()))
        for p in _PARAMETER.finditer(match.group(2))
    }
    return ToolCall(id=new_call_id(), name=name, arguments=arguments)


def _json_call(body: str) -> ToolCall | str:
    try:
        data = json.loads(body)
    except ValueError as exc:
        return f"the tool call is not valid JSON: {exc}"
    if not isinstance(data, dict):
        return "the tool call must be a JSON object with 'name' and 'arguments'"
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        return "the tool call has no 'name'"
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # some models JSON-encode the arguments twice
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return f"the tool call's arguments are not valid JSON: {exc}"
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return "the tool call's 'arguments' must be a JSON object"
    return ToolCall(id=new_call_id(), name=name.strip(), arguments=arguments)


def parse_tool_block(
    block: str, tools: Sequence[ToolSpec] = ()
) -> ToolCall | InvalidToolCall:
    """One block's content (what sits between the tags, or a bare ``<function=``
    block) as a call, or as an invalid call saying what is wrong with it.

    Raises:
        Nothing: bad output is reported, not raised.
    """
    body = block.strip()
    if body.startswith("<function="):
        parsed = _xml_call(body, _schemas(tools))
    else:
        parsed = _json_call(body)
    if isinstance(parsed, ToolCall):
        return parsed
    name_match = re.search(r'"name"\s*:\s*"([^"]+)"|<function=([^>\n]+)>', body)
    name = (name_match.group(1) or name_match.group(2)).strip() if name_match else None
    return InvalidToolCall(name=name, arguments=body, error=parsed)


def _partial_start(text: str) -> int:
    """How many trailing characters of ``text`` could begin a block tag."""
    for n in range(min(len(text), max(map(len, _BLOCKS))), 0, -1):
        tail = text[-n:]
        if any(marker.startswith(tail) for marker in _BLOCKS):
            return n
    return 0


class ToolCallStream:
    """Feed model text as it streams; get back the text to show and finished calls.

    ``feed`` returns ``(text, calls)``: text that is safe to show now (never part of a
    tag) and the calls whose block closed in this piece. ``finish`` flushes: a block
    left open at the end is parsed if it can be (a model stopped at ``</tool_call>``
    or hit its end token), otherwise reported invalid and returned as text.
    """

    def __init__(self, tools: Sequence[ToolSpec] = ()) -> None:
        self.tools = list(tools)
        self.calls: list[ToolCall] = []
        self.invalid: list[InvalidToolCall] = []
        self._pending = ""
        self._open: str | None = None  # the start tag of the open block

    @property
    def in_call(self) -> bool:
        return self._open is not None

    def feed(self, text: str) -> tuple[str, list[ToolCall]]:
        self._pending += text
        shown: list[str] = []
        found: list[ToolCall] = []
        while self._pending:
            if self._open is None:
                hits = [(self._pending.find(m), m) for m in _BLOCKS]
                hits = [(i, m) for i, m in hits if i >= 0]
                if not hits:
                    keep = _partial_start(self._pending)
                    cut = len(self._pending) - keep
                    shown.append(self._pending[:cut])
                    self._pending = self._pending[cut:]
                    break
                index, marker = min(hits)
                shown.append(self._pending[:index])
                self._open = marker
                # a bare <function= block keeps its tag: the XML parser reads it
                skip = len(marker) if marker == "<tool_call>" else 0
                self._pending = self._pending[index + skip :]
                continue
            end = _BLOCKS[self._open]
            index = self._pending.find(end)
            if index < 0:
                break
            stop = index if self._open == "<tool_call>" else index + len(end)
            text_back = self._close(self._pending[:stop], found)
            shown.append(text_back)
            self._pending = self._pending[index + len(end) :]
        return "".join(shown), found

    def _close(self, block: str, found: list[ToolCall]) -> str:
        """Parse a finished block; return the text it gives back (when invalid)."""
        opened, self._open = self._open, None
        parsed = parse_tool_block(block, self.tools)
        if isinstance(parsed, ToolCall):
            self.calls.append(parsed)
            found.append(parsed)
            return ""
        self.invalid.append(parsed)
        if opened == "<tool_call>":
            return f"<tool_call>{block}</tool_call>"
        return block

    def finish(self) -> tuple[str, list[ToolCall]]:
        found: list[ToolCall] = []
        rest, self._pending = self._pending, ""
        if self._open is None:
            return rest, found
        if not rest.strip():  # an empty block left open: nothing to report
            self._open = None
            return "", found
        opened = self._open
        text = self._close(rest, found)
        if text and opened == "<tool_call>":
            text = text.removesuffix("</tool_call>")  # it was never closed
        return text, found


def parse_tool_calls(text: str, tools: Sequence[ToolSpec] = ()) -> ParsedOutput:
    """Split a whole model answer into text and tool calls.

    With calls present, the text is stripped (Qwen puts newlines between calls).

    Raises:
        Nothing: blocks that do not parse are in ``ParsedOutput.invalid``.
    """
    stream = ToolCallStream(tools)
    shown, _ = stream.feed(text)
    tail, _ = stream.finish()
    answer = shown + tail
    if stream.calls:
        answer = answer.strip()
    return ParsedOutput(answer, stream.calls, stream.invalid)


class ToolCallAssembler:
    """Whole calls from OpenAI-style streamed fragments: the first fragment of a call
    carries ``index``, ``id`` and ``function.name``; later ones ``index`` and pieces of
    ``function.arguments`` (JSON text). Arguments that never form a JSON object make
    an :class:`~qwen_router.types.InvalidToolCall`."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, Any]] = {}
        self.invalid: list[InvalidToolCall] = []

    def add(self, fragments: Sequence[Any] | None) -> None:
        for position, fragment in enumerate(fragments or []):
            index = getattr(fragment, "index", None)
            index = position if index is None else int(index)
            part = self._parts.setdefault(
                index, {"id": None, "name": "", "arguments": ""}
            )
            if getattr(fragment, "id", None):
                part["id"] = fragment.id
            function = getattr(fragment, "function", None)
            if function is not None:
                if getattr(function, "name", None):
                    part["name"] += function.name
                if getattr(function, "arguments", None):
                    part["arguments"] += function.arguments

    def finish(self) -> list[ToolCall]:
        """The calls assembled so far, in index order (and forget them)."""
        calls: list[ToolCall] = []
        for _, part in sorted(self._parts.items()):
            text = part["arguments"].strip()
            try:
                arguments = json.loads(text) if text else {}
            except ValueError as exc:
                arguments = None
                error = f"the tool call's arguments are not valid JSON: {exc}"
            else:
                error = "the tool call's arguments must be a JSON object"
            if not part["name"] or not isinstance(arguments, dict):
                self.invalid.append(
                    InvalidToolCall(
                        name=part["name"] or None, arguments=text, error=error
                    )
                )
                continue
            calls.append(
                ToolCall(
                    id=part["id"] or new_call_id(),
                    name=part["name"],
                    arguments=arguments,
                )
            )
        self._parts.clear()
        return calls

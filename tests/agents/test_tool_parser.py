"""The shared tool-call parser on literal Qwen outputs: Hermes JSON, qwen3_coder XML,
several calls, calls split across stream chunks, broken JSON, and OpenAI fragments."""

from __future__ import annotations

import pytest
from openai.types.chat.chat_completion_chunk import (
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)
from qwen_router.backends.tool_calls import (
    ToolCallAssembler,
    ToolCallStream,
    parse_tool_calls,
)
from qwen_router.types import ToolSpec

WEATHER = ToolSpec(
    function={
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "zip": {"type": "string"},
            },
        },
    }
)

HERMES = (
    "I will look it up.\n<tool_call>\n"
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n'
    "</tool_call>"
)
XML = (
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n"
    "<parameter=days>\n2\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n"
    "<parameter=zip>\n10001\n</parameter>\n</function>\n</tool_call>"
)
TWO = (
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_time", "arguments": {"tz": "CET"}}\n</tool_call>'
)


def test_hermes_json_call_and_text_before_it() -> None:
    out = parse_tool_calls(HERMES, [WEATHER])
    assert out.text == "I will look it up."
    assert [(c.name, c.arguments) for c in out.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 3})
    ]
    assert out.tool_calls[0].id.startswith("call_") and not out.invalid


def test_qwen3_coder_xml_values_take_their_schema_types() -> None:
    out = parse_tool_calls(XML, [WEATHER])
    assert out.text == ""
    call = out.tool_calls[0]
    # a declared string stays a string even when it looks like a number
    assert call.arguments == {
        "city": "New York",
        "days": 2,
        "metric": True,
        "zip": "10001",
    }


def test_bare_function_block_without_outer_tag() -> None:
    out = parse_tool_calls(
        "<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</function>"
    )
    assert [(c.name, c.arguments) for c in out.tool_calls] == [
        ("get_weather", {"city": "Rome"})
    ]


def test_several_calls_keep_their_order_and_unique_ids() -> None:
    out = parse_tool_calls(TWO + "\n" + XML, [WEATHER])
    assert [c.name for c in out.tool_calls] == [
        "get_weather",
        "get_time",
        "get_weather",
    ]
    assert len({c.id for c in out.tool_calls}) == 3
    assert out.text == ""


@pytest.mark.parametrize("text", [HERMES, XML, TWO], ids=["json", "xml", "two"])
def test_stream_split_at_every_point_equals_the_whole(text: str) -> None:
    whole = parse_tool_calls(text, [WEATHER])
    for cut in range(1, len(text)):
        stream = ToolCallStream([WEATHER])
        shown_a, calls_a = stream.feed(text[:cut])
        shown_b, calls_b = stream.feed(text[cut:])
        rest, calls_c = stream.finish()
        assert "<tool" not in shown_a + shown_b + rest
        assert (shown_a + shown_b + rest).strip() == whole.text
        calls = calls_a + calls_b + calls_c
        assert [(c.name, c.arguments) for c in calls] == [
            (c.name, c.arguments) for c in whole.tool_calls
        ]


def test_text_is_held_back_only_while_a_tag_may_open() -> None:
    stream = ToolCallStream()
    assert stream.feed("a <") == ("a ", [])  # '<' may start <tool_call>
    assert stream.feed("b") == ("<b", [])  # it did not
    assert stream.feed("<tool_") == ("", [])
    assert stream.in_call is False
    assert stream.feed("call>{") == ("", [])
    assert stream.in_call is True


def test_broken_json_is_reported_and_kept_as_text() -> None:
    broken = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"\n</tool_call> ok'
    out = parse_tool_calls(broken)
    assert out.tool_calls == []
    assert out.invalid[0].name == "get_weather"
    assert "not valid JSON" in out.invalid[0].error
    assert out.text == broken  # nothing lost


def test_missing_name_and_non_object_arguments_are_invalid() -> None:
    out = parse_tool_calls(
        '<tool_call>{"arguments": {}}</tool_call><tool_call>{"name": "f", "arguments": [1]}</tool_call>'
    )
    assert [i.error for i in out.invalid] == [
        "the tool call has no 'name'",
        "the tool call's 'arguments' must be a JSON object",
    ]


def test_block_left_open_at_the_end_still_parses() -> None:
    out = parse_tool_calls(
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
    )
    assert [c.arguments for c in out.tool_calls] == [{"city": "Oslo"}]


def test_double_encoded_arguments_are_decoded() -> None:
    out = parse_tool_calls(
        '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>'
    )
    assert out.tool_calls[0].arguments == {"x": 1}


def _fragment(
    index: int, id: str | None = None, name: str | None = None, args: str | None = None
) -> ChoiceDeltaToolCall:
    """A streamed tool-call delta as the openai client parses it."""
    function = ChoiceDeltaToolCallFunction(name=name, arguments=args)
    return ChoiceDeltaToolCall(
        index=index, id=id, type="function" if id else None, function=function
    )


def test_openai_fragments_assemble_by_index() -> None:
    calls = ToolCallAssembler()
    calls.add([_fragment(0, "call_a", "get_weather", "")])
    calls.add([_fragment(1, "call_b", "get_time", '{"tz"')])
    calls.add([_fragment(0, args='{"city": ')])
    calls.add([_fragment(0, args='"Paris"}'), _fragment(1, args=': "CET"}')])
    done = calls.finish()
    assert [(c.id, c.name, c.arguments) for c in done] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"tz": "CET"}),
    ]
    calls.add([_fragment(0, "call_c", "f", '{"broken"')])
    assert calls.finish() == [] and "not valid JSON" in calls.invalid[0].error

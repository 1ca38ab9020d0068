from __future__ import annotations

import json
from pathlib import Path

import pytest
from qwen_router.errors import ConfigError
from qwen_router.prompts import list_templates, load_template, render
from qwen_router.types import ImagePart, Message, TextPart, normalize_messages


def test_every_route_has_a_template() -> None:
    assert {"general", "code", "math", "vision", "multilingual", "repair"} <= set(list_templates())


@pytest.mark.parametrize("name", ["general", "code", "math", "vision", "multilingual"])
def test_templates_render(name: str) -> None:
    out = render(name, normalize_messages("Hello there"), lang="en")
    assert out[0].role == "system" and out[0].text
    assert out[-1] == Message(role="user", content="Hello there")


def test_math_template_asks_for_boxed_answer_and_user_language() -> None:
    english = render("math", normalize_messages("2+2?"), lang="en")[0].text
    assert "\\boxed{" in english and "Russian" not in english
    russian = render("math", normalize_messages("2+2?"), lang="ru")[0].text
    assert "Russian" in russian


def test_multilingual_template_names_the_language() -> None:
    assert "German" in render("multilingual", normalize_messages("Hallo"), lang="de")[0].text


def test_user_system_message_is_kept_after_the_template() -> None:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="hi")]
    out = render("general", messages)
    assert len([m for m in out if m.role == "system"]) == 1
    assert out[0].text.endswith("Be brief.")


def test_user_template_directory_overrides_shipped(tmp_path: Path) -> None:
    (tmp_path / "code.yaml").write_text(
        "system: 'Answer only in {{ lang_name }} code review style.'\nuser: 'TASK: {{ text }}'\n",
        encoding="utf-8",
    )
    out = render("code", normalize_messages("sort a list"), template_dirs=[tmp_path], lang="en")
    assert out[0].text == "Answer only in English code review style."
    assert out[-1].text == "TASK: sort a list"
    assert load_template("code", [tmp_path]).source == str(tmp_path / "code.yaml")


def test_user_wrapper_keeps_images(tmp_path: Path) -> None:
    (tmp_path / "vision.yaml").write_text("user: 'Q: {{ text }}'\n", encoding="utf-8")
    message = Message(role="user", content=[TextPart(text="what is this"), ImagePart(image=b"x")])
    out = render("vision", [message], template_dirs=[tmp_path])
    assert out[-1].text == "Q: what is this" and len(out[-1].images) == 1


def test_template_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown prompt template"):
        load_template("nope")
    (tmp_path / "bad.yaml").write_text("system: '{{ missing_var }}'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing_var"):
        render("bad", normalize_messages("x"), template_dirs=[tmp_path])
    (tmp_path / "worse.yaml").write_text("sistem: typo\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_template("worse", [tmp_path])


def test_user_text_is_never_evaluated_as_a_template() -> None:
    out = render("math", normalize_messages("{{ 7*7 }} {% for x in y %}"))
    assert out[-1].text == "{{ 7*7 }} {% for x in y %}"


@pytest.mark.parametrize(
    "part",
    [
        "You are a helpful assistant.",
        "\n  Leading and trailing space and newlines  \n\n",
        "Braces that are not Jinja: {x} and } { and \\boxed{ANSWER}.",
        "Two lines\nof plain text\n",
    ],
)
def test_a_plain_template_part_renders_as_jinja_would(
    tmp_path: Path, part: str
) -> None:
    """A part without Jinja syntax skips the Jinja run; its text must come out the same."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)
    (tmp_path / "plain.yaml").write_text(
        "system: " + json.dumps(part) + "\nuser: " + json.dumps(part + " {{ text }}"),
        encoding="utf-8",
    )
    out = render("plain", normalize_messages("hi"), template_dirs=[tmp_path])
    assert out[0].text == env.from_string(part).render().strip()
    # the user part has syntax: Jinja renders it, with the client's text as a variable
    wrapped = env.from_string(part + " {{ text }}").render(text="hi")
    assert out[-1].text == wrapped.strip()

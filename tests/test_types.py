from __future__ import annotations

import pytest
from qwen_router.errors import InputError
from qwen_router.types import (
    GenerationParams,
    Message,
    RouteDecision,
    RouteResult,
    normalize_messages,
)


def test_normalize_string_and_dicts() -> None:
    assert normalize_messages("hi") == [Message(role="user", content="hi")]
    msgs = normalize_messages(
        [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "user", "content": "and this", "images": ["AAAA"]},
        ]
    )
    assert msgs[1].text == "look" and len(msgs[1].images) == 1
    assert msgs[2].text == "and this" and msgs[2].images[0].image == "AAAA"


@pytest.mark.parametrize(
    "bad",
    [{"role": "user"}, [{"role": "wizard", "content": "x"}], [42], [{"content": "x"}]],
)
def test_normalize_rejects_bad_messages(bad: object) -> None:
    with pytest.raises(InputError):
        normalize_messages(bad)  # type: ignore[arg-type]


def test_pil_image_becomes_png_bytes() -> None:
    from PIL import Image
    from qwen_router.types import ImagePart

    part = ImagePart(image=Image.new("RGB", (4, 4), "red"))
    assert isinstance(part.image, bytes) and part.image.startswith(b"\x89PNG")


def test_params_merge_keeps_profile_values_under_overrides() -> None:
    base = GenerationParams(max_tokens=100, temperature=0.7)
    merged = base.merged(GenerationParams(temperature=0.0))
    assert merged.max_tokens == 100 and merged.temperature == 0.0


def test_result_summary_has_the_cli_keys() -> None:
    result = RouteResult(
        answer="4", decision=RouteDecision(route="math", confidence=0.9), model="hf:x", backend="hf"
    )
    keys = {"answer", "route", "confidence", "model", "backend", "thinking", "verification", "usage", "timings", "trace"}
    assert keys <= set(result.summary())

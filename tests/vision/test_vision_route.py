"""End to end: image requests through ``Router`` and ``qwen-router ask --image``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from qwen_router.cli import main
from qwen_router.core import Router
from qwen_router.errors import ImageError, InputError
from vision_samples import data_url, jpeg_bytes, png_bytes

pytest.importorskip("transformers")


def _profile(path: Path, *, vision: str, text: str) -> Path:
    routes = {
        "general": f"hf:{text}",
        "code": f"hf:{text}",
        "math": f"hf:{text}",
        "multilingual": f"hf:{text}",
        "vision": f"hf:{vision}",
    }
    body = "".join(
        f"  {name}:\n    model: {model}\n    template: {name}\n"
        f"    params: {{max_tokens: 4, temperature: 0.0}}\n"
        + (
            "    verifiers: [math]\n    max_repairs: 0\n"
            if name in ("math", "vision")
            else ""
        )
        for name, model in routes.items()
    )
    path.write_text(
        "name: tiny-vision\nbackends:\n  hf: {device: cpu, dtype: float32}\n"
        f"routes:\n{body}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def vision_profile(
    tiny_qwen25_vl: Path, tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return _profile(
        tmp_path_factory.mktemp("vision-profile") / "tiny-vision.yaml",
        vision=str(tiny_qwen25_vl),
        text=str(tiny_qwen2),
    )


@pytest.fixture(scope="module")
def router(vision_profile: Path) -> Any:
    with Router(vision_profile) as router:
        yield router


def _ask(text: str, *images: Any) -> list[dict[str, Any]]:
    parts = [
        {"type": "text", "text": text},
        *({"type": "image", "image": i} for i in images),
    ]
    return [{"role": "user", "content": parts}]


def test_image_request_is_answered_by_the_vl_model(
    router: Router, tiny_qwen25_vl: Path
) -> None:
    result = router.invoke(_ask("What does this chart show?", png_bytes()))
    assert result.route == "vision"
    assert result.model == f"hf:{tiny_qwen25_vl}"
    assert result.usage.completion_tokens == 4
    guard = next(e for e in result.trace if e.node == "guard")
    assert guard.detail["images"] == 1


def test_several_images_in_several_forms(router: Router) -> None:
    result = router.invoke(
        _ask("Compare the two charts.", jpeg_bytes(), data_url(png_bytes(64, 96)))
    )
    assert result.route == "vision"
    assert result.usage.prompt_tokens > 20


def test_photographed_equation_keeps_the_math_label_and_is_verified(
    router: Router,
) -> None:
    result = router.invoke(_ask("Solve for x: 2x + 3 = 7", png_bytes()))
    assert result.route == "vision"
    assert "math" in result.decision.labels
    assert result.verification is not None and result.verification.verifier == "math"
    assert [e.node for e in result.trace].count("verify") == 1


def test_streaming_an_image_request(router: Router) -> None:
    events = list(router.stream(_ask("Describe the chart.", png_bytes())))
    assert events[-1].type == "result" and events[-1].result is not None
    assert events[-1].result.route == "vision"


def test_async_image_request(router: Router) -> None:
    result = asyncio.run(router.ainvoke(_ask("Describe the chart.", jpeg_bytes())))
    assert result.route == "vision"


def test_forced_text_route_with_an_image_is_a_clear_error(
    router: Router, tiny_qwen2: Path
) -> None:
    with pytest.raises(InputError, match=rf"model {tiny_qwen2} is text-only"):
        router.invoke(_ask("What is this?", png_bytes()), route="general")


def test_bad_image_fails_in_the_guard_before_any_model(tmp_path: Path) -> None:
    # the models do not exist: an ImageError (not ModelNotFound) proves nothing loaded
    profile = _profile(
        tmp_path / "p.yaml", vision=str(tmp_path / "none"), text=str(tmp_path / "none")
    )
    with (
        Router(profile) as router,
        pytest.raises(ImageError, match="message 0 \\(user\\) part 1"),
    ):
        router.invoke(_ask("What is this?", b"GIF89a-but-not-really"))


def test_non_english_math_with_an_image_stays_on_vision(router: Router) -> None:
    result = router.invoke(_ask("Реши уравнение: 2x + 3 = 7", png_bytes()))
    assert result.route == "vision"
    assert "math" in result.decision.labels
    assert result.verification is not None  # the math verifier still ran


# --- the command line -----------------------------------------------------------------
def test_cli_ask_with_images(
    vision_profile: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_qwen25_vl: Path,
) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(png_bytes())
    second.write_bytes(jpeg_bytes())
    argv = ["ask", "--profile", str(vision_profile), "--json", "--max-tokens", "3"]
    code = main(
        [*argv, "--image", str(first), "--image", str(second), "Which bar is tallest?"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["route"] == "vision"
    assert out["model"] == f"hf:{tiny_qwen25_vl}"
    assert out["usage"]["completion_tokens"] == 3


def test_cli_ask_with_a_bad_image(
    vision_profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "chart.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    code = main(
        ["ask", "--profile", str(vision_profile), "--image", str(bad), "What is this?"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "message 0 (user) part 1" in err and "not a readable image" in err
    missing = main(
        ["ask", "-p", str(vision_profile), "-i", str(tmp_path / "nope.png"), "hi"]
    )
    assert missing == 2
    assert "nope.png" in capsys.readouterr().err

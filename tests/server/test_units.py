"""Unit tests: settings, FakeBackend, rate limiter, auth, model names, CLI options."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from qwen_router.backends.base import GenerateRequest
from qwen_router.backends.fake import FakeBackend
from qwen_router.errors import BackendTimeout, ConfigError, ModelNotFound
from qwen_router.server.errors import ApiError
from qwen_router.server.limits import RateLimiter
from qwen_router.server.security import Authenticator
from qwen_router.settings import Settings
from qwen_router.types import Message


def _request(text: str = "hi", **kwargs: object) -> GenerateRequest:
    return GenerateRequest(
        model="m", messages=[Message(role="user", content=text)], **kwargs
    )


def test_settings_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("a\n# no\n\nb\n", encoding="utf-8")
    monkeypatch.setenv("QWEN_ROUTER_API_KEYS", "x, y")
    monkeypatch.setenv("QWEN_ROUTER_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("QWEN_ROUTER_RATE_LIMIT_RPM", "30")
    monkeypatch.setenv("QWEN_ROUTER_BACKEND_CONCURRENCY_OVERRIDES", '{"hf": 1}')
    settings = Settings()
    assert settings.load_api_keys() == ["x", "y", "a", "b"]
    assert settings.rate_limit_rpm == 30
    assert settings.concurrency_for("hf") == 1 and settings.concurrency_for("fake") == 4
    assert settings.image_limits().max_pixels == settings.max_image_pixels


def test_missing_keys_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="api keys file"):
        Settings(api_keys_file=tmp_path / "missing").load_api_keys()


def test_fake_backend_script() -> None:
    backend = FakeBackend(reply="one two three", thinking="hmm")
    result = backend.generate(_request(thinking=True))
    assert (result.text, result.thinking) == ("one two three", "hmm")
    assert backend.generate(_request()).thinking is None
    echo = FakeBackend().generate(_request("hello"))
    assert echo.text == "[m] hello"
    fn = FakeBackend(reply=lambda r: r.messages[-1].text.upper())
    assert asyncio.run(fn.agenerate(_request("abc"))).text == "ABC"
    cut = FakeBackend(reply="a b c d").generate(_request(params={"max_tokens": 2}))  # type: ignore[arg-type]
    assert (cut.text, cut.finish_reason) == ("a b", "length")


def test_fake_backend_fails_on_cue() -> None:
    backend = FakeBackend(fail_on="!", fail_with="timeout", fail_after_tokens=1)
    chunks = []
    with pytest.raises(BackendTimeout):
        for chunk in backend.stream(_request("boom!")):
            chunks.append(chunk.text)
    assert chunks and backend.generate(_request("fine")).text
    with pytest.raises(ModelNotFound):
        FakeBackend(models=["other"]).generate(_request())
    with pytest.raises(ValueError):
        FakeBackend(fail_with="nope")  # type: ignore[arg-type]


def test_rate_limiter_buckets_refill() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=2, tpm=10, clock=lambda: now[0])
    limiter.admit("k")
    limiter.admit("k")
    with pytest.raises(ApiError) as info:
        limiter.admit("k")
    assert info.value.status == 429 and info.value.headers["Retry-After"] == "30"
    limiter.admit("other")  # per key
    now[0] = 30.0
    limiter.admit("k")
    limiter.charge("k", 25)
    with pytest.raises(ApiError, match="tokens per minute"):
        limiter.admit("k")


def test_authenticator() -> None:
    assert Authenticator([]).check(None, "1.2.3.4") == "anon:1.2.3.4"
    auth = Authenticator(["k1", "k2"])
    assert auth.check("Bearer k2").startswith("key:")
    for header in (None, "Bearer nope", "Basic k1", "Bearer "):
        with pytest.raises(ApiError) as info:
            auth.check(header)
        assert (
            info.value.status == 401
            and info.value.headers["WWW-Authenticate"] == "Bearer"
        )


def test_model_names(fake_profile_yaml: Path) -> None:
    from qwen_router.core import Router
    from qwen_router.server.metrics import Metrics
    from qwen_router.server.service import RouterService

    def service(**settings: object) -> RouterService:
        router = Router(str(fake_profile_yaml))
        return RouterService(
            router, Settings(profile=str(fake_profile_yaml), **settings), Metrics()
        )

    s = service()
    assert s.resolve("auto").kind == "auto" and s.resolve("auto:latest").kind == "auto"
    assert s.resolve("auto:math").route == "math"
    assert s.resolve("fake:scripted").model == "fake:scripted"
    assert s.resolve("scripted").model == "fake:scripted"
    for bad in ("auto:nope", "gpt-4", "nobackend:x", "ollama:qwen3:8b", "fake:x"):
        with pytest.raises(ApiError):
            s.resolve(bad)  # client specs are off by default
    allowed = service(allow_model_specs=True)
    assert allowed.resolve("ollama:qwen3:8b").model == "ollama:qwen3:8b"
    assert allowed.resolve("ollama:qwen3").model == "ollama:qwen3:latest"
    for bad in ("fake:x", "ollama:openai:auto", "openai:auto", "nobackend:x"):
        with pytest.raises(ApiError) as info:
            allowed.resolve(bad)
        assert info.value.status == 404


def test_cli_serve_options_become_settings() -> None:
    from qwen_router.cli import _parser
    from qwen_router.server.run import settings_from_args

    args = _parser().parse_args(
        [
            "serve",
            "--profile",
            "hf",
            "--port",
            "9001",
            "--rate-limit-rpm",
            "5",
            "--concurrency",
            "2",
            "--queue-timeout",
            "1.5",
            "--preload",
        ]
    )
    settings = settings_from_args(args)
    assert (settings.profile, settings.port, settings.rate_limit_rpm) == ("hf", 9001, 5)
    assert (settings.backend_concurrency, settings.queue_timeout_s) == (2, 1.5)
    assert settings.preload is True and settings.host == "127.0.0.1"
    assert isinstance(args, argparse.Namespace)


def test_a_model_response_is_its_models_dump_as_utf8_json() -> None:
    from qwen_router.server.responses import (
        ChatCompletion,
        ChatCompletionChoice,
        ChatCompletionMessage,
        CompletionUsage,
        dump,
        model_response,
    )

    completion = ChatCompletion(
        id="chatcmpl-1",
        created=7,
        model="fake:m",
        choices=[
            ChatCompletionChoice(
                message=ChatCompletionMessage(content="Grüße, 世界 \u2028"),
                finish_reason="stop",
            )
        ],
        usage=CompletionUsage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
    )
    response = model_response(completion, status_code=201, headers={"x-a": "b"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "b"
    assert int(response.headers["content-length"]) == len(response.body)
    assert json.loads(response.body) == dump(completion)
    text = response.body.decode("utf-8")
    assert "Grüße, 世界" in text  # not ASCII-escaped, as JSONResponse had it
    assert '"logprobs":null' in text  # set to None on purpose: kept
    assert "reasoning_content" not in text  # unset: left out

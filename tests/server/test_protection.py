"""Auth, rate limits, size limits, malformed input and the per-backend queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest
from qwen_router.backends.fake import FakeBackend

from .helpers import png_data_url

HI = [{"role": "user", "content": "hi"}]


def oai(server: Any, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60
    )


def test_auth_off_by_default(fake_server: Any) -> None:
    with fake_server() as server:
        assert oai(server, "anything").chat.completions.create(
            model="auto", messages=HI
        )


def test_bearer_auth_from_env_list_and_file(fake_server: Any, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# comment\nfile-key\n\n", encoding="utf-8")
    with fake_server(api_keys=["env-key"], api_keys_file=keys) as server:
        with pytest.raises(openai.AuthenticationError) as info:
            oai(server, "wrong").chat.completions.create(model="auto", messages=HI)
        assert info.value.body["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            oai(server, "wrong").models.list()
        for key in ("env-key", "file-key"):
            assert oai(server, key).chat.completions.create(model="auto", messages=HI)
        with pytest.raises(ollama.ResponseError) as denied:
            ollama.Client(host=server.url).list()
        assert denied.value.status_code == 401
        authed = ollama.Client(
            host=server.url, headers={"Authorization": "Bearer file-key"}
        )
        assert authed.chat(model="auto", messages=HI).done
        assert httpx.get(server.url + "/healthz").status_code == 200


def test_request_rate_limit_is_429_with_retry_after(fake_server: Any) -> None:
    with fake_server(rate_limit_rpm=2) as server:
        c = oai(server)
        c.chat.completions.create(model="auto", messages=HI)
        c.chat.completions.create(model="auto", messages=HI)
        with pytest.raises(openai.RateLimitError) as info:
            c.chat.completions.create(model="auto", messages=HI)
        assert int(info.value.response.headers["retry-after"]) >= 1
        with pytest.raises(ollama.ResponseError) as limited:
            ollama.Client(host=server.url).chat(model="auto", messages=HI)
        assert limited.value.status_code == 429


def test_token_rate_limit(fake_server: Any) -> None:
    with fake_server(
        FakeBackend(reply="many words in this reply"), rate_limit_tpm=5
    ) as server:
        c = oai(server)
        c.chat.completions.create(
            model="auto", messages=HI
        )  # spends more than 5 tokens
        with pytest.raises(openai.RateLimitError, match="tokens per minute"):
            c.chat.completions.create(model="auto", messages=HI)


@pytest.mark.parametrize(
    ("path", "ollama_shape"),
    [
        ("/v1/chat/completions", False),
        ("/api/chat", True),
    ],
)
def test_oversized_body_is_413(fake_server: Any, path: str, ollama_shape: bool) -> None:
    body = json.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": "x" * 5000}]}
    )
    with fake_server(max_body_bytes=2048) as server:
        response = httpx.post(
            server.url + path,
            content=body,
            headers={"content-type": "application/json"},
        )
        chunked = httpx.post(
            server.url + path,
            content=iter([body.encode()]),
            headers={"content-type": "application/json"},
        )
    for r in (response, chunked):
        assert r.status_code == 413
        error = r.json()["error"]
        assert (
            isinstance(error, str)
            if ollama_shape
            else error["code"] == "request_too_large"
        )


def test_too_many_messages_is_413(fake_server: Any) -> None:
    with (
        fake_server(max_messages=2) as server,
        pytest.raises(openai.APIStatusError) as info,
    ):
        oai(server).chat.completions.create(model="auto", messages=HI * 3)
    assert info.value.status_code == 413


def test_image_limits(fake_server: Any) -> None:
    def ask(url: str) -> Any:
        return oai(server).chat.completions.create(
            model="auto",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )

    with fake_server(max_image_pixels=100) as server:
        with pytest.raises(openai.APIStatusError) as too_big:
            ask(png_data_url(20, 20))
        assert too_big.value.status_code == 413 and "pixels" in too_big.value.message
        with pytest.raises(openai.UnprocessableEntityError):
            ask("data:image/png;base64,bm90IGFuIGltYWdl")
        with pytest.raises(openai.UnprocessableEntityError, match="not fetched"):
            ask("https://example.com/cat.png")
        with pytest.raises(openai.UnprocessableEntityError, match="data: URL"):
            ask("/etc/hostname")


@pytest.mark.parametrize(
    ("path", "ollama_shape"),
    [
        ("/v1/chat/completions", False),
        ("/api/chat", True),
        ("/api/generate", True),
    ],
)
def test_malformed_json_and_invalid_fields(
    fake_server: Any, path: str, ollama_shape: bool
) -> None:
    headers = {"content-type": "application/json"}
    with fake_server() as server:
        broken = httpx.post(
            server.url + path, content=b'{"model": "auto", "mess', headers=headers
        )
        wrong = httpx.post(server.url + path, json={"model": 3, "messages": "no"})
        not_object = httpx.post(server.url + path, content=b"[1, 2]", headers=headers)
    assert broken.status_code == 400
    for r in (broken, wrong, not_object):
        assert r.status_code in (400, 422)
        error = r.json()["error"]
        assert (
            isinstance(error, str)
            if ollama_shape
            else {"message", "type", "param", "code"} <= set(error)
        )


def test_busy_backend_queues_then_503(fake_server: Any) -> None:
    slow = FakeBackend(reply=" ".join(["tok"] * 30), token_delay_s=0.2)
    with fake_server(slow, backend_concurrency=1, queue_timeout_s=0.2) as server:
        c = oai(server)
        stream = c.chat.completions.create(model="auto", messages=HI, stream=True)
        next(iter(stream))  # the only slot is now held
        with pytest.raises(openai.InternalServerError) as info:
            c.chat.completions.create(model="auto", messages=HI)
        assert info.value.status_code == 503
        assert info.value.response.headers["retry-after"] == "1"
        stream.close()


def test_an_app_without_the_auth_middleware_still_checks_keys_then_limits(
    fake_profile_yaml: Path,
) -> None:
    # The chat endpoints' own dependency checks the key and the rate limit, for an app
    # mounted without AuthMiddleware; both come before the body is validated.
    from qwen_router.server import create_app
    from qwen_router.server.security import AuthMiddleware
    from qwen_router.settings import Settings

    from .conftest import ServerThread, free_port

    settings = Settings(
        profile=str(fake_profile_yaml), api_keys=["k"], rate_limit_rpm=1, port=free_port()
    )
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not AuthMiddleware]
    server = ServerThread(app, settings).start()
    try:
        url = server.url + "/v1/chat/completions"
        body = {"model": "auto", "messages": HI}
        anonymous = httpx.post(url, json=body, timeout=60)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        keyed = {"Authorization": "Bearer k"}
        answered = httpx.post(url, json=body, headers=keyed, timeout=60)
        assert answered.status_code == 200
        assert answered.json()["choices"][0]["message"]["role"] == "assistant"
        no_messages = httpx.post(url, json={"model": "auto"}, headers=keyed, timeout=60)
        assert no_messages.status_code == 429  # the limit, before the body's 400
        assert int(no_messages.headers["retry-after"]) >= 1
    finally:
        server.stop()

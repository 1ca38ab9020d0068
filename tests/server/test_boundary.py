"""Validation at the API boundary, auth before parsing, caps, keep-alive and proxies
(issue 14: critical prompt/context, medium items)."""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any

import httpx
import pytest
from qwen_router.backends.fake import FakeBackend

from .helpers import png_data_url

HI = [{"role": "user", "content": "hi"}]
JSON = {"content-type": "application/json"}


def test_prompt_over_the_context_is_refused_at_once(tiny_server: Any) -> None:
    words = "hello " * 12_000  # about 12k tokens against the tiny model's 4096
    start = time.perf_counter()
    r = httpx.post(
        tiny_server.url + "/v1/chat/completions",
        json={"model": "auto", "messages": [{"role": "user", "content": words}]},
        timeout=120,
    )
    seconds = time.perf_counter() - start
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert re.search(
        r"prompt is \d{5} tokens, over the context of 4096", error["message"]
    )
    ollama = httpx.post(
        tiny_server.url + "/api/chat",
        json={
            "model": "auto",
            "stream": False,
            "messages": [{"role": "user", "content": words}],
        },
        timeout=120,
    )
    assert ollama.status_code == 400 and "4096" in ollama.json()["error"]
    print(f"12k-token prompt refused in {seconds:.3f}s")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/chat/completions",
            '{"model":"auto","messages":[{"role":"user","content":"a\\ud800b"}]}',
        ),
        (
            "/api/chat",
            '{"model":"auto","stream":false,"messages":[{"role":"user","content":"\\ud800"}]}',
        ),
        (
            "/v1/chat/completions",
            '{"model":"auto","seed":%d,"messages":[{"role":"user","content":"hi"}]}'
            % 2**70,
        ),
        (
            "/api/chat",
            '{"model":"auto","options":{"seed":%d},"messages":[{"role":"user","content":"hi"}]}'
            % 2**70,
        ),
        (
            "/api/chat",
            '{"model":"auto","options":{"repeat_penalty":1e-300},"messages":[{"role":"user","content":"hi"}]}',
        ),
        (
            "/api/chat",
            '{"model":"auto","options":{"temperature":Infinity},"messages":[{"role":"user","content":"hi"}]}',
        ),
        (
            "/v1/chat/completions",
            '{"model":"auto","temperature":NaN,"messages":[{"role":"user","content":"hi"}]}',
        ),
        ("/api/generate", '{"model":"auto","stream":true,"prompt":"\\udc00"}'),
    ],
)
def test_bad_values_are_4xx_in_the_api_shape(
    fake_server: Any, path: str, body: str
) -> None:
    with fake_server() as server:
        r = httpx.post(server.url + path, content=body.encode(), headers=JSON)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    assert isinstance(error, str) if path.startswith("/api/") else error["code"]


def _raw_requests(
    port: int, bodies: list[bytes], path: str = "/v1/chat/completions"
) -> list[bytes]:
    """Send ``bodies`` one after another on ONE keep-alive connection."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for body in bodies:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = b""
            while b"\r\n\r\n" not in head:
                piece = sock.recv(65536)
                assert piece, "the server dropped the keep-alive connection"
                head += piece
            header, _, rest = head.partition(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", header, re.I).group(1))
            while len(rest) < length:
                rest += sock.recv(65536)
            answers.append(header)
    return answers


def test_an_error_keeps_the_connection_and_a_stream_ends_with_an_error_event(
    fake_server: Any,
) -> None:
    def reply(request: Any) -> str:
        if "crash" in request.messages[-1].text:
            return "broken \ud800 text"  # not encodable: the answer cannot be sent
        return "fine"

    crash = json.dumps(
        {"model": "auto", "messages": [{"role": "user", "content": "crash"}]}
    )
    good = json.dumps({"model": "auto", "messages": HI})
    with fake_server(FakeBackend(reply=reply)) as server:
        first, second = _raw_requests(server.port, [crash.encode(), good.encode()])
        assert first.startswith(b"HTTP/1.1 500") and second.startswith(b"HTTP/1.1 200")
        with httpx.stream(
            "POST",
            server.url + "/v1/chat/completions",
            json={
                "model": "auto",
                "stream": True,
                "messages": [{"role": "user", "content": "crash"}],
            },
        ) as r:
            events = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
        assert events[-1] == "data: [DONE]"
        assert json.loads(events[-2][6:])["error"]["code"] == "internal_error"
        with httpx.stream(
            "POST",
            server.url + "/api/chat",
            json={"model": "auto", "messages": [{"role": "user", "content": "crash"}]},
        ) as r:
            lines = [json.loads(ln) for ln in r.iter_lines() if ln]
        assert lines[-1]["error"] and lines[-1]["status"] == 500


def test_auth_comes_before_parsing_and_covers_operations(fake_server: Any) -> None:
    with fake_server(api_keys=["k"]) as server:
        junk = b"{" + b"x" * 5_000_000  # not JSON: must not be parsed before the 401
        r = httpx.post(server.url + "/v1/chat/completions", content=junk, headers=JSON)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        r = httpx.post(server.url + "/api/chat", content=junk, headers=JSON)
        assert r.status_code == 401 and isinstance(r.json()["error"], str)
        for path in ("/metrics", "/readyz", "/docs", "/openapi.json"):
            assert httpx.get(server.url + path).status_code == 401, path
            authed = httpx.get(server.url + path, headers={"authorization": "Bearer k"})
            assert authed.status_code in (200, 503), path
        assert httpx.get(server.url + "/healthz").status_code == 200


def test_caps_on_stop_strings_and_total_pixels(fake_server: Any) -> None:
    with fake_server(max_total_image_pixels=1000) as server:
        r = httpx.post(
            server.url + "/v1/chat/completions",
            json={
                "model": "auto",
                "messages": HI,
                "stop": [f"s{i}" for i in range(2000)],
            },
        )
        assert r.status_code == 400 and r.json()["error"]["param"] == "stop"
        r = httpx.post(
            server.url + "/api/chat",
            json={"model": "auto", "messages": HI, "options": {"stop": ["x" * 5000]}},
        )
        assert r.status_code == 400
        image = {"type": "image_url", "image_url": {"url": png_data_url(30, 30)}}
        r = httpx.post(
            server.url + "/v1/chat/completions",
            json={
                "model": "auto",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "?"}, image, image],
                    }
                ],
            },
        )
        assert r.status_code == 413 and "per request" in r.json()["error"]["message"]


def test_forwarded_for_is_believed_only_from_trusted_proxies(fake_server: Any) -> None:
    def ask(server: Any, forwarded: str) -> int:
        return httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "auto", "messages": HI},
            headers={"x-forwarded-for": forwarded},
        ).status_code

    with fake_server(
        rate_limit_rpm=1
    ) as server:  # per-IP buckets for anonymous callers
        assert ask(server, "10.0.0.1") == 200
        assert ask(server, "10.0.0.2") == 429  # a forged header is not a new client
    with fake_server(rate_limit_rpm=1, trusted_proxies=["127.0.0.1"]) as server:
        assert ask(server, "10.0.0.1") == 200
        assert ask(server, "10.0.0.2") == 200  # behind a trusted proxy: real clients


def test_keep_alive_timeout_is_configurable(fake_server: Any) -> None:
    with fake_server(keep_alive_timeout_s=1) as server:
        body = json.dumps({"model": "auto", "messages": HI}).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: "
                b"application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
            time.sleep(0.3)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(2.5)
            assert sock.recv(65536) == b""  # closed by the server after 1 s idle


def _repairing_server(tmp_path: Any) -> Any:
    """A server whose math route is verified and repaired once: its model answers
    2 + 2 wrong, then right."""
    from .conftest import serve, write_fake_profile

    path = write_fake_profile(tmp_path / "repair.yaml")
    text = path.read_text(encoding="utf-8").replace(
        "  math:\n    model: fake:scripted\n    template: math",
        "  math:\n    model: fake:scripted\n    template: math\n    verifiers: [math]\n    max_repairs: 1",
    )
    path.write_text(text, encoding="utf-8")
    answers = iter(
        ["2 + 2 = 5. The answer is \\boxed{5}", "2 + 2 = 4. The answer is \\boxed{4}"]
    )
    backend = FakeBackend(reply=lambda r: next(answers))
    return serve(path, backends={"fake": backend})


def test_ollama_stream_marks_repairs_like_openai(tmp_path: Any) -> None:
    with _repairing_server(tmp_path) as server:
        with httpx.stream(
            "POST",
            server.url + "/api/chat",
            json={
                "model": "auto:math",
                "messages": [{"role": "user", "content": "What is 2 + 2?"}],
            },
            timeout=120,
        ) as r:
            lines = [json.loads(ln) for ln in r.iter_lines() if ln]
    streamed = "".join(line.get("message", {}).get("content", "") for line in lines)
    assert "[verifier refuted the answer; repairing]" in streamed
    assert lines[-1]["done"] and lines[-1]["qwen_router"]["answer"].endswith(
        "\\boxed{4}"
    )


def test_a_non_streamed_answer_keeps_its_verdict_and_repairs(tmp_path: Any) -> None:
    """The server runs a non-streamed request for its result alone (no trace steps, no
    AIMessage): the verifier, the repair and their report in the body still hold."""
    with _repairing_server(tmp_path) as server:
        r = httpx.post(
            server.url + "/v1/chat/completions",
            json={
                "model": "auto:math",
                "messages": [{"role": "user", "content": "What is 2 + 2?"}],
            },
            timeout=120,
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"].endswith("\\boxed{4}")
    meta = body["qwen_router"]
    assert meta["repairs"] == 1 and meta["verification"]["status"] == "verified"
    assert meta["timings"]["generate_ms"] >= 0 and meta["timings"]["verify_ms"] > 0

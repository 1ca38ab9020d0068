"""Dead work, one client's faults, stalled upstreams (issue 14, high/medium):
disconnects cancel generation and free the slot; a client's bad turns never cool a
route down for others; ``retry.timeout_s`` bounds an attempt and the fallback answers,
named as the model that answered."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import openai

from .conftest import ROUTES, serve
from .upstreams import BAD_TURN, ScriptedUpstream


def _in_flight(server: Any) -> float:
    text = httpx.get(server.url + "/metrics").text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("qwen_router_in_flight{")
    ]
    return sum(values)


def _send_and_leave(server: Any, body: dict[str, Any]) -> None:
    """Send ``body``, wait until it holds a backend slot, then hang up before any
    byte of the answer arrived."""
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: "
            b"application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)
        )
        deadline = time.monotonic() + 30
        while _in_flight(server) < 1:
            assert time.monotonic() < deadline, "the request never took a slot"
            time.sleep(0.02)
        sock.setblocking(False)
        try:
            assert sock.recv(1) == b""
        except BlockingIOError:
            pass  # nothing received yet: leaving before the first byte


def _freed_within(server: Any, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < 30:
        if _in_flight(server) == 0:
            return time.monotonic() - start
        time.sleep(0.05)
    return float("inf")


def _profile(
    path: Path, model: str, backends: str, retry: str = "{}", fallbacks: str = "[]"
) -> Path:
    routes = "\n".join(
        f"  {name}:\n    model: {model}\n    template: {name}\n    fallbacks: {fallbacks}"
        for name in ROUTES
    )
    path.write_text(
        f"name: t\nbackends:\n{backends}retry: {retry}\nroutes:\n{routes}\n",
        encoding="utf-8",
    )
    return path


def test_a_gone_client_frees_the_tiny_models_slot(tiny_profile_yaml: Path) -> None:
    with serve(tiny_profile_yaml, preload=True, backend_concurrency=1) as server:
        long = {
            "model": "auto",
            "max_tokens": 3000,
            "temperature": 0.0,
            "messages": [{"role": "user", "content": "count"}],
        }
        _send_and_leave(server, long)  # non-stream
        assert _freed_within(server, 2.0) < 2.0
        _send_and_leave(server, {**long, "stream": True})  # before the first byte
        assert _freed_within(server, 2.0) < 2.0


def test_a_gone_client_cancels_a_slow_upstream(tmp_path: Path) -> None:
    with ScriptedUpstream(stall_s=60) as up:
        profile = _profile(
            tmp_path / "slow.yaml",
            "openai:slow",
            f"  openai: {{base_url: '{up.url}/v1'}}\n",
        )
        with serve(profile, backend_concurrency=1) as server:
            for stream in (False, True):
                _send_and_leave(
                    server,
                    {
                        "model": "auto",
                        "stream": stream,
                        "messages": [{"role": "user", "content": "hi"}],
                    },
                )
                assert _freed_within(server, 2.0) < 2.0


def test_one_clients_bad_turns_do_not_lock_out_others(tmp_path: Path) -> None:
    with ScriptedUpstream() as up:
        profile = _profile(
            tmp_path / "up.yaml", "openai:m", f"  openai: {{base_url: '{up.url}/v1'}}\n"
        )
        with serve(profile, api_keys=["bad", "good"]) as server:
            bad = openai.OpenAI(
                base_url=server.url + "/v1", api_key="bad", max_retries=0
            )
            good = openai.OpenAI(
                base_url=server.url + "/v1", api_key="good", max_retries=0
            )
            for _ in range(6):
                try:
                    bad.chat.completions.create(
                        model="auto", messages=[{"role": "user", "content": BAD_TURN}]
                    )
                except openai.APIStatusError as exc:
                    assert exc.status_code == 400  # blamed on the request, not a 5xx
            answer = good.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "hi"}]
            )
            assert answer.choices[0].message.content
            assert not server.app.state.service.router.dispatcher.cooldowns.snapshot()


def test_a_stalled_upstream_times_out_and_the_fallback_answers_named(
    tmp_path: Path,
) -> None:
    with ScriptedUpstream(stall_s=60) as up:
        profile = _profile(
            tmp_path / "stall.yaml",
            "openai:stalled",
            f"  openai: {{base_url: '{up.url}/v1'}}\n  fake: {{reply: 'from the fallback'}}\n",
            retry="{timeout_s: 1, max_retries: 2, backoff_s: 0}",
            fallbacks="['fake:backup']",
        )
        with serve(profile) as server:
            start = time.monotonic()
            r = httpx.post(
                server.url + "/v1/chat/completions",
                json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]},
                timeout=60,
            )
            assert r.status_code == 200 and time.monotonic() - start < 30
            assert r.headers["x-qwen-router-model"] == "fake:backup"
            assert r.json()["choices"][0]["message"]["content"] == "from the fallback"
            with httpx.stream(
                "POST",
                server.url + "/v1/chat/completions",
                json={
                    "model": "auto",
                    "stream": True,
                    "messages": [{"role": "user", "content": "hi"}],
                },
                timeout=60,
            ) as s:
                assert s.headers["x-qwen-router-model"] == "fake:backup"
                chunks = [
                    json.loads(ln[6:])
                    for ln in s.iter_lines()
                    if ln.startswith("data: {")
                ]
            assert {c["model"] for c in chunks} == {"fake:backup"}
            assert chunks[-1]["qwen_router"]["model"] == "fake:backup"

"""What the overhead work relies on: settings reach worker processes, the planned
decision is reused without a thread hop, several workers serve one port, and the
overhead benchmark reads its load generator's output. No timing assertions."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from qwen_router.bench import server as bench
from qwen_router.server import run
from qwen_router.settings import Settings


def test_settings_survive_the_trip_to_worker_processes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in Settings.model_fields:  # restored (unset) after the test
        monkeypatch.setenv("QWEN_ROUTER_" + name.upper(), "")
        monkeypatch.delenv("QWEN_ROUTER_" + name.upper())
    monkeypatch.setenv("QWEN_ROUTER_API_KEYS", "k1,k2")
    settings = Settings(
        profile=str(tmp_path / "p.yaml"),
        port=9001,
        preload=True,
        rate_limit_rpm=5,
        queue_timeout_s=1.5,
        backend_concurrency_overrides={"fake": 3},
        api_keys_file=tmp_path / "keys",
    )
    run._export(settings)
    assert Settings() == settings
    assert Settings().api_keys == ["k1", "k2"]


def test_log_config_keeps_uvicorn_loggers_and_adds_plain_lines() -> None:
    config = run._log_config("warning")
    assert config["root"]["level"] == "WARNING"
    assert {"uvicorn", "uvicorn.error", "uvicorn.access"} <= set(config["loggers"])
    assert config["formatters"]["plain"]["format"] == "%(message)s"


def test_bench_reads_wrk_latencies_and_summarises_rounds() -> None:
    out = textwrap.dedent(
        """\
          Latency Distribution
             50%  812.00us
             75%    1.20ms
             90%    2.10ms
             99%    1.05s
          4321 requests in 3.00s, 4.40MB read
        """
    )
    assert bench._wrk_ms(out, "50%") == pytest.approx(0.812)
    assert bench._wrk_ms(out, "99%") == pytest.approx(1050.0)
    http = [
        bench._result(300, 1.0, 5.0, 9.0, 1.2),
        bench._result(200, 1.0, 7.0, 9.0, 1.0),
    ]
    inproc = [
        bench._result(600, 1.0, 2.0, 3.0, 0.9),
        bench._result(400, 1.0, 3.0, 4.0, 0.6),
    ]
    summary = bench._summary(http, inproc)
    assert summary["rps_ratio"] == pytest.approx(250 / 500)
    assert summary["added_p50_ms"] == pytest.approx(6.0 - 2.5)
    assert summary["added_cpu_ms_per_request"] == pytest.approx(4.5 - 1.5)


@pytest.mark.slow
def test_two_workers_serve_one_port(fake_profile_yaml: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "from qwen_router.server.run import serve\n"
        "from qwen_router.settings import Settings\n"
        "if __name__ == '__main__':\n"
        f"    raise SystemExit(serve(Settings(profile={str(fake_profile_yaml)!r}, "
        f"port={port}, log_level='warning'), workers=2))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert child.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(8):
            answer = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
            assert answer.status_code == 200
            assert answer.json()["choices"][0]["message"]["content"] == "[scripted] hi"
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0

"""Limits across replicas: two ``serve`` processes sharing a real Redis enforce one
requests-per-minute budget between them (issue 14)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import free_port, write_fake_profile

pytest.importorskip("redis")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if not Path(REDIS).exists():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _replica(profile: Path, port: int, redis_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qwen_router.cli",
            "serve",
            "--profile",
            str(profile),
            "--port",
            str(port),
            "--rate-limit-rpm",
            "3",
            "--redis-url",
            redis_url,
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become ready")


def test_two_replicas_share_one_rpm_budget(redis_url: str, tmp_path: Path) -> None:
    profile = write_fake_profile(tmp_path / "fake.yaml", options="{reply: 'ok'}")
    ports = [free_port(), free_port()]
    procs = [_replica(profile, p, redis_url) for p in ports]
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url, proc in zip(urls, procs):
            _wait_ready(url, proc)
        statuses = [
            httpx.post(
                urls[i % 2] + "/v1/chat/completions",
                json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]},
                timeout=30,
            ).status_code
            for i in range(8)
        ]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    # one budget of 3 for the (anonymous, same-IP) caller across both processes;
    # per-process buckets would have let 6 through
    assert statuses.count(200) == 3 and statuses.count(429) == 5, statuses

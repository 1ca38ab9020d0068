"""Image URLs (``allow_image_urls``): no SSRF, one deadline, outside the backend gate,
one generic error (issue 14, high)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from qwen_router.backends.fake import FakeBackend

from .helpers import png_bytes
from .upstreams import ImageHost


def ask(server: Any, url: str) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json={
            "model": "auto",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is it?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        },
        timeout=60,
    )


def test_private_targets_are_refused_with_one_message(fake_server: Any) -> None:
    with ImageHost(png_bytes()) as host, fake_server(allow_image_urls=True) as server:
        closed = httpx.URL(host.url).copy_with(port=1)
        messages = set()
        for url in (
            f"{host.url}/img.png",  # loopback, port open
            f"{closed}/img.png",  # loopback, port closed
            f"http://localhost:{host.port}/img.png",  # a name that resolves to loopback
            "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
            "http://10.1.2.3/x.png",  # private
            f"http://[::1]:{host.port}/img.png",
        ):
            r = ask(server, url)
            assert r.status_code == 422, (url, r.text)
            messages.add(r.json()["error"]["message"])
        assert host.hits == 0
    assert len(messages) == 1 and "could not be fetched" in messages.pop()


def test_redirects_are_checked_and_allowed_networks_fetch(fake_server: Any) -> None:
    # 127.0.0.2 stands for an allowed image store; 127.0.0.1 for the private network
    with (
        ImageHost(png_bytes(), host="127.0.0.2") as store,
        ImageHost(png_bytes(), host="127.0.0.1") as private,
        fake_server(
            FakeBackend(reply="a red square"),
            allow_image_urls=True,
            image_url_allow_networks=["127.0.0.2/32"],
        ) as server,
    ):
        assert ask(server, f"{store.url}/img.png").status_code == 200
        bounce = f"{store.url}/redirect?to={private.url}/img.png"
        r = ask(server, bounce)
        assert (
            r.status_code == 422
            and "could not be fetched" in r.json()["error"]["message"]
        )
        assert private.hits == 0


def test_a_slow_drip_hits_the_deadline_without_holding_a_slot(fake_server: Any) -> None:
    with (
        ImageHost(png_bytes(), host="127.0.0.2") as store,
        fake_server(
            allow_image_urls=True,
            image_url_allow_networks=["127.0.0.2/32"],
            image_url_timeout_s=1.5,
            backend_concurrency=1,
            queue_timeout_s=0.2,
        ) as server,
    ):
        results: list[httpx.Response] = []
        drips = [
            threading.Thread(
                target=lambda: results.append(ask(server, f"{store.url}/drip"))
            )
            for _ in range(3)
        ]
        start = time.monotonic()
        for t in drips:
            t.start()
        time.sleep(0.5)
        # the fetches wait outside the gate: the only slot is free for others
        text_only = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "auto", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert text_only.status_code == 200
        for t in drips:
            t.join(30)
        assert [r.status_code for r in results] == [422, 422, 422]
        assert time.monotonic() - start < 20

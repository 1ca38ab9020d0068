"""Adversarial prompts never freeze the event loop: /healthz answers while they are classified.

Before the rule patterns were bounded, six `"1" * 20000` requests at once blocked every
endpoint for about 22 s. The bound here is generous, so that a slow machine does not fail
it; the measured figure (the slowest /healthz while six such requests are classified) is
in the project's closing notes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from .conftest import serve

ADVERSARIAL = ["1" * 20000, "a@" * 10000, "a[ " * 7000, "." * 20000, "x(" * 10000, "1" * 20000]
GENEROUS_S = 10.0


async def _load_and_probe(url: str) -> tuple[list[int], float]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        requests = [
            asyncio.create_task(
                client.post(
                    "/v1/chat/completions",
                    json={"model": "auto", "messages": [{"role": "user", "content": text}]},
                )
            )
            for text in ADVERSARIAL
        ]
        await asyncio.sleep(0.05)  # the adversarial requests are in flight
        slowest = 0.0
        for _ in range(5):
            start = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            slowest = max(slowest, time.perf_counter() - start)
        statuses = [r.status_code for r in await asyncio.gather(*requests)]
    return statuses, slowest


def test_healthz_answers_while_adversarial_prompts_are_classified(fake_profile_yaml: Path) -> None:
    with serve(fake_profile_yaml, backend_concurrency=16) as server:
        statuses, slowest = asyncio.run(_load_and_probe(server.url))
    assert all(status < 500 for status in statuses), statuses
    assert slowest < GENEROUS_S, f"/healthz took {slowest:.2f} s while classifying"

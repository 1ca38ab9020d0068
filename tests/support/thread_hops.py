"""Count the worker-thread hops (``asyncio.to_thread`` / ``run_in_executor(None)``) an
async call makes: the event loop's default executor, replaced for the run by one that
counts what it is given and runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class _CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(*args, **kwargs)


def thread_hops(call: Callable[[], Awaitable[Any]]) -> int:
    """Run ``call()`` in a fresh event loop; how many jobs went to a worker thread."""
    executor = _CountingExecutor()

    async def run() -> int:
        asyncio.get_running_loop().set_default_executor(executor)
        await call()
        return executor.submitted

    try:
        return asyncio.run(run())
    finally:
        executor.shutdown(wait=True)

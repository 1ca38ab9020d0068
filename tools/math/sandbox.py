"""A small pool of worker processes that run the sympy checks under a hard time limit.

Why a process pool: sympy can hang (``2**(10**10)``) or eat memory on hostile input, and a
verifier is called from worker threads (FastAPI, LangGraph nodes, ``asyncio.to_thread``)
where ``signal.alarm`` is unavailable. Each worker is a separate interpreter started with
``python -m qwen_router.tools.math.worker``; it speaks newline-delimited JSON on a private
pipe, runs with an address-space limit, and is killed (SIGKILL) when a call overruns its
deadline. A replacement is started in the background, so the next call does not wait for
sympy to import. Overhead per call is one JSON round trip over a pipe (well under 1 ms).

Nothing here imports sympy: the parent process stays light.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["SandboxError", "SandboxTimeout", "WorkerPool", "default_pool"]

_READY = b"ready"
_START_TIMEOUT_S = 60.0


class SandboxError(Exception):
    """The worker failed (crashed, out of memory, protocol error)."""


class SandboxTimeout(SandboxError):
    """The worker did not answer before the deadline and was killed."""


class _Worker:
    """One worker process and the two pipe ends the parent talks through."""

    def __init__(self, memory_mb: int) -> None:
        env = dict(os.environ)
        env["QWEN_ROUTER_MATH_WORKER_MEMORY_MB"] = str(memory_mb)
        env.setdefault("PYTHONHASHSEED", "0")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qwen_router.tools.math.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._buf = b""
        self.ready = False

    def wait_ready(self, timeout_s: float) -> None:
        if not self.ready:
            line = self._readline(time.monotonic() + timeout_s)
            if line.strip() != _READY:
                raise SandboxError("math worker sent an unexpected greeting")
            self.ready = True

    def call(self, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        data = json.dumps(payload).encode() + b"\n"
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise SandboxError(f"math worker is gone: {exc}") from None
        line = self._readline(deadline)
        try:
            result = json.loads(line)
        except ValueError:
            raise SandboxError("math worker sent a malformed reply") from None
        if not isinstance(result, dict):
            raise SandboxError("math worker sent a malformed reply")
        return result

    def _readline(self, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxTimeout("math worker timed out")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise SandboxTimeout("math worker timed out")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise SandboxError(f"math worker exited (code {self.proc.poll()})")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - kill -9 does not fail
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class WorkerPool:
    """Up to ``max_workers`` sympy workers; a stuck worker is killed and replaced.

    Thread-safe: any number of threads may call :meth:`call` at once; at most
    ``max_workers`` calls run concurrently, the rest wait for a free worker.
    """

    def __init__(self, max_workers: int = 2, *, memory_mb: int = 1536) -> None:
        self.max_workers = max(1, max_workers)
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    def warm_up(self) -> None:
        """Start one worker now, so the first call does not pay for importing sympy."""
        worker = self._acquire(time.monotonic() + _START_TIMEOUT_S)
        self._release(worker)

    def call(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one job; raise :class:`SandboxTimeout` after ``timeout_s`` of work.

        Waiting for a free worker (or for the first one to start) does not count
        against ``timeout_s``; it is bounded separately so a call never hangs.
        """
        worker = self._acquire(time.monotonic() + _START_TIMEOUT_S + timeout_s)
        try:
            result = worker.call(payload, time.monotonic() + timeout_s)
        except SandboxError:
            self._discard(worker)
            raise
        self._release(worker)
        return result

    def close(self) -> None:
        """Kill every idle worker; busy ones are killed when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()

    # -- internals ---------------------------------------------------------------

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxError("math worker pool is closed")
                if self._idle:
                    worker = self._idle.pop()
                    break
                if self._count < self.max_workers:
                    self._count += 1
                    worker = None
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxTimeout("no math worker became free in time")
                self._cond.wait(left)
        try:
            if worker is None:
                worker = _Worker(self.memory_mb)
            worker.wait_ready(max(0.1, deadline - time.monotonic()))
            if not worker.alive():
                raise SandboxError("math worker died")
        except BaseException:
            if worker is not None:
                worker.kill()
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                self._count -= 1
                worker.kill()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            if self._closed:
                self._count -= 1
                return
            # Start the replacement now; it imports sympy while nobody waits for it.
            try:
                self._idle.append(_Worker(self.memory_mb))
            except OSError:
                self._count -= 1
            self._cond.notify()


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool used by :func:`qwen_router.tools.math.verifier.verify`."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WorkerPool(max_workers=min(4, os.cpu_count() or 1))
            atexit.register(_default.close)
        return _default

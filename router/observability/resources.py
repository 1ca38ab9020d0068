"""Process memory over one call: RSS delta and peak, and CUDA peak memory.

How each figure is taken (and how far to trust it):

* **RSS delta**: ``psutil`` resident set size at the end minus at the start.
* **RSS peak**: a background thread samples RSS every ``interval_s`` (10 ms) while at
  least one call is measured; the peak is the highest sample. When the call raised
  the kernel's own high-water mark (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
  that exact figure is used instead, so a new all-time peak is never missed; a
  shorter spike below an earlier peak can be (it falls between samples).
* **CUDA peak**: ``torch.cuda.max_memory_allocated`` summed over devices, only when
  torch is already imported and CUDA initialised (nothing imports torch here). The
  peak counters are reset when the first of overlapping calls starts.

All figures are per process: calls that overlap share them, and each reports the
peak of the whole process during its own window. Without psutil the RSS figures are
``None`` (install ``psutil``).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["ResourceSampler", "ResourceWindow", "Resources", "default_sampler", "mib"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class Resources:
    """What one window measured (bytes; ``None`` where it could not be measured)."""

    rss_delta_bytes: int | None = None
    rss_peak_bytes: int | None = None
    cuda_peak_bytes: int | None = None
    peak_source: str | None = None  # "getrusage" (exact) | "sampled"


def _process() -> Any:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process()


def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def _cuda() -> Any:
    """``torch.cuda`` when torch is already imported and CUDA is initialised."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is None:
        return None
    try:
        return cuda if cuda.is_available() and cuda.is_initialized() else None
    except Exception:  # a broken driver must not fail a request
        return None


def _cuda_peak(cuda: Any) -> int | None:
    try:
        return sum(
            int(cuda.max_memory_allocated(d)) for d in range(cuda.device_count())
        )
    except Exception:
        return None


class ResourceWindow:
    """One call's measurement; ``close()`` returns what it saw (idempotent)."""

    def __init__(self, sampler: ResourceSampler) -> None:
        self._sampler = sampler
        self._start_rss = sampler.rss()
        self.peak = self._start_rss or 0
        self._start_maxrss = _maxrss_bytes()
        self._cuda_at_start = _cuda() is not None
        self._result: Resources | None = None

    def see(self, rss: int) -> None:
        if rss > self.peak:
            self.peak = rss

    def close(self) -> Resources:
        if self._result is not None:
            return self._result
        self._sampler.leave(self)
        end = self._sampler.rss()
        delta = peak = None
        source = None
        if end is not None and self._start_rss is not None:
            self.see(end)
            delta, peak, source = end - self._start_rss, self.peak, "sampled"
        maxrss = _maxrss_bytes()
        if maxrss is not None and self._start_maxrss is not None:
            if maxrss > self._start_maxrss and (peak is None or maxrss >= peak):
                peak, source = maxrss, "getrusage"
        cuda = _cuda()
        cuda_peak = _cuda_peak(cuda) if cuda is not None else None
        self._result = Resources(delta, peak, cuda_peak, source)
        return self._result


class ResourceSampler:
    """One background RSS sampler per process, running only while windows are open.

    Raises:
        Nothing: a failing measurement yields ``None`` figures.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self._proc = _process()
        self._lock = threading.Lock()
        self._windows: set[ResourceWindow] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def rss(self) -> int | None:
        if self._proc is None:
            return None
        try:
            return int(self._proc.memory_info().rss)
        except Exception:
            return None

    def open(self) -> ResourceWindow:
        """Start measuring one call."""
        window = ResourceWindow(self)
        with self._lock:
            first = not self._windows
            self._windows.add(window)
            if first:
                self._reset_cuda()
            if self._proc is not None and (
                self._thread is None or not self._thread.is_alive()
            ):
                self._thread = threading.Thread(
                    target=self._run, name="qwen-router-rss", daemon=True
                )
                self._thread.start()
            self._wake.set()
        return window

    def leave(self, window: ResourceWindow) -> None:
        with self._lock:
            self._windows.discard(window)

    @staticmethod
    def _reset_cuda() -> None:
        cuda = _cuda()
        if cuda is None:
            return
        try:
            for device in range(cuda.device_count()):
                cuda.reset_peak_memory_stats(device)
        except Exception:
            pass

    def _run(self) -> None:
        idle_since: float | None = None
        while True:
            with self._lock:
                windows = list(self._windows)
            if not windows:
                now = time.monotonic()
                idle_since = idle_since or now
                if now - idle_since > 5.0:  # park the thread after 5 s with no call
                    with self._lock:
                        if not self._windows:
                            self._thread = None
                            return
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            idle_since = None
            rss = self.rss()
            if rss is not None:
                for window in windows:
                    window.see(rss)
            time.sleep(self.interval_s)


_DEFAULT: ResourceSampler | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sampler() -> ResourceSampler:
    """The process's sampler (created on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = ResourceSampler()
        return _DEFAULT


def mib(value: int | None) -> float | None:
    """Bytes as MiB (for reports)."""
    return None if value is None else value / _MB

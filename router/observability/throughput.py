"""Tokens per second of one generation, split into prefill and decode where possible.

* **server** split: the backend's server reported its own prompt-evaluation and
  generation times (Ollama's ``prompt_eval_duration`` / ``eval_duration``, set on
  ``GenerateResult.prefill_ms`` / ``decode_ms``). Decode is ``completion_tokens`` over
  the generation time.
* **measured** split: from this process's clock. Prefill is the time to the first
  token (for in-process models: tokenising and the prompt's forward pass; for a
  remote server it also holds the network and the server's queue); decode is the
  rest of the generation, and covers the tokens after the first.

``tokens_per_s`` is every completion token over the whole generation time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from qwen_router.backends.types import GenerateResult

__all__ = ["Throughput", "measure_throughput"]


@dataclass(frozen=True)
class Throughput:
    prefill_ms: float | None = None
    decode_ms: float | None = None
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    tokens_per_s: float | None = None
    throughput_source: str | None = None  # "server" | "measured"

    def timings(self) -> dict[str, Any]:
        """The fields as ``Timings`` names them (``None`` left out)."""
        return {
            f.name: value
            for f in fields(self)
            if (value := getattr(self, f.name)) is not None
        }


def _rate(tokens: int, ms: float | None) -> float | None:
    if ms is None or ms <= 0 or tokens <= 0:
        return None
    return round(tokens / (ms / 1000.0), 3)


def measure_throughput(result: GenerateResult) -> Throughput:
    """The throughput of ``result`` (fields ``None`` where it cannot be told)."""
    usage = result.usage
    completion = usage.completion_tokens
    prefill = result.prefill_ms
    decode = result.decode_ms
    if prefill is not None and decode is not None:
        source, decode_tokens = "server", completion
    elif result.first_token_ms is not None:
        source = "measured"
        prefill = result.first_token_ms
        decode = max(result.generate_ms - result.first_token_ms, 0.0)
        decode_tokens = completion - 1
    else:
        source, decode_tokens = None, 0
    return Throughput(
        prefill_ms=None if prefill is None else round(prefill, 3),
        decode_ms=None if decode is None else round(decode, 3),
        prefill_tokens_per_s=_rate(usage.prompt_tokens, prefill),
        decode_tokens_per_s=_rate(decode_tokens, decode),
        tokens_per_s=_rate(completion, result.generate_ms),
        throughput_source=source,
    )

"""Benchmark thinking budgets: thinking tokens, total tokens and wall time per call.

For each budget in ``--budgets`` (default ``0,64,256,1024,unlimited``) every prompt of
a fixed math set runs through the thinking-budget controller (the router's own
runner) and the medians are reported, with how often the budget cut in and how many
final answers the math verifier confirmed against the reference.

Without ``--model`` a tiny random-weight Qwen3 (real vocabulary, Qwen3 chat template)
is built and used: that measures the *mechanics* on a CPU-only machine (thinking
never exceeds the budget, the forced close, the per-pass overhead), not the quality
or the savings — random weights never finish a thought, and never open one by
themselves, so "unlimited" shows no thinking there. Point ``--model`` at a real Qwen3
(``hf:PATH`` or ``ollama:qwen3:8b``) to measure the savings.

Run: ``qwen-router bench thinking [--data PATH]`` (default: the shipped math sample)
(``--model SPEC --limit N --max-tokens N --answer-tokens N --json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from qwen_router.bench.samples import sample_path

__all__ = ["BudgetStats", "main", "run"]

DEFAULT_BUDGETS = "0,64,256,1024,unlimited"
INSTRUCTION = (
    "\nPlease reason step by step, and put your final answer within \\boxed{}."
)
# (max_tokens, answer_tokens) defaults: a real model, and the tiny one (mechanics only).
REAL_CAPS = (8192, 1024)
TINY_CAPS = (96, 16)


class BudgetStats(BaseModel):
    """Medians over the prompts for one budget (``None``: unlimited)."""

    budget: int | None
    n: int
    thinking_tokens: float
    completion_tokens: float
    wall_ms: float
    thinking_ms: float
    budget_hits: int
    correct: int
    max_thinking_tokens: int


def _load(path: Path, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def _budgets(text: str) -> list[int | None]:
    out: list[int | None] = []
    for item in text.split(","):
        item = item.strip().lower()
        out.append(None if item in ("unlimited", "none", "inf") else int(item))
    return out


def _request(
    model: str, question: str, budget: int | None, caps: tuple[int, int], seed: int
) -> Any:
    from qwen_router.backends.base import GenerateRequest
    from qwen_router.thinking.models import apply_sampling_defaults
    from qwen_router.types import GenerationParams, Message

    max_tokens, answer_tokens = caps
    thinking = budget != 0
    limit = max_tokens if budget is None else min(max_tokens, budget + answer_tokens)
    params, _ = apply_sampling_defaults(
        GenerationParams(max_tokens=limit, seed=seed), thinking
    )
    return GenerateRequest(
        model=model,
        messages=[Message(role="user", content=question + INSTRUCTION)],
        params=params,
        thinking=thinking,
        thinking_budget=budget,
    )


def _one(backend: Any, request: Any) -> tuple[Any, float]:
    from qwen_router.tools.budget import run_with_budget

    start = time.perf_counter()
    result = None
    for chunk in run_with_budget(backend, request):
        result = chunk.result if chunk.done else result
    return result, (time.perf_counter() - start) * 1000


def run(
    backend: Any,
    model: str,
    rows: list[dict[str, Any]],
    budgets: list[int | None],
    *,
    caps: tuple[int, int],
    seed: int = 0,
    verify: bool = True,
) -> list[BudgetStats]:
    """Run every prompt at every budget; return the medians per budget.

    Raises:
        RouterError: the backend failed.
    """
    check = None
    if verify:
        from qwen_router.tools.math import verify as check
    _one(backend, _request(model, "1+1?", 0, (1, 1), seed))  # load the model first
    stats = []
    for budget in budgets:
        results = []
        for row in rows:
            result, wall = _one(
                backend, _request(model, row["question"], budget, caps, seed)
            )
            ok = bool(
                check
                and check(row["question"], result.text, row.get("reference")).status
                == "verified"
            )
            results.append((result, wall, ok))
            print(
                f"budget {budget}: {result.usage.thinking_tokens} thinking tokens, "
                f"{wall:.0f} ms",
                file=sys.stderr,
            )
        thinking = [r.usage.thinking_tokens for r, _, _ in results]
        stats.append(
            BudgetStats(
                budget=budget,
                n=len(results),
                thinking_tokens=statistics.median(thinking),
                completion_tokens=statistics.median(
                    r.usage.completion_tokens for r, _, _ in results
                ),
                wall_ms=statistics.median(w for _, w, _ in results),
                thinking_ms=statistics.median(r.thinking_ms for r, _, _ in results),
                budget_hits=sum(r.budget_hit for r, _, _ in results),
                correct=sum(ok for _, _, ok in results),
                max_thinking_tokens=max(thinking),
            )
        )
    return stats


def _table(stats: list[BudgetStats]) -> str:
    names = ("n", "think tok", "max think", "total tok", "wall ms", "think ms")
    head = f"{'budget':>9} {names[0]:>3} " + " ".join(f"{n:>9}" for n in names[1:])
    head += f" {'hit':>4} {'correct':>7}"
    lines = [head]
    for s in stats:
        name = "unlimited" if s.budget is None else str(s.budget)
        lines.append(
            f"{name:>9} {s.n:>3} {s.thinking_tokens:>9.0f} {s.max_thinking_tokens:>9} "
            f"{s.completion_tokens:>9.0f} {s.wall_ms:>9.0f} {s.thinking_ms:>9.0f} "
            f"{s.budget_hits:>4} {s.correct:>7}"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-router bench thinking", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", type=Path, default=None,
        help="JSONL with question / reference (default: the shipped math sample)"
    )
    parser.add_argument(
        "--model", help="BACKEND:MODEL (default: a tiny random Qwen3, mechanics only)"
    )
    parser.add_argument("--budgets", default=DEFAULT_BUDGETS)
    parser.add_argument("--limit", type=int, default=5, help="prompts (default 5)")
    parser.add_argument(
        "--max-tokens", type=int, help="cap per call (real 8192, tiny 96)"
    )
    parser.add_argument(
        "--answer-tokens", type=int, help="tokens after the budget (real 1024, tiny 16)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the math verifier"
    )
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code.

    Raises:
        RouterError: the model could not be loaded or failed.
    """
    args = _parser().parse_args(argv)
    from qwen_router.backends.registry import create_backend
    from qwen_router.profiles import parse_model_spec

    if args.data is None:
        args.data = sample_path("math")
    rows = _load(args.data, args.limit)
    with tempfile.TemporaryDirectory(prefix="qwen-router-bench-") as tmp:
        if args.model:
            spec, caps, note = (
                parse_model_spec(args.model),
                REAL_CAPS,
                f"model {args.model}",
            )
        else:
            import torch
            from qwen_router.testing import build_tiny_qwen3

            torch.set_num_threads(1)  # a 2-layer model gains nothing from threads
            spec = parse_model_spec(f"hf:{build_tiny_qwen3(Path(tmp) / 'tiny-qwen3')}")
            caps = TINY_CAPS
            note = (
                "tiny random Qwen3 on CPU: mechanics only (no quality, no real savings)"
            )
        caps = (args.max_tokens or caps[0], args.answer_tokens or caps[1])
        options = {"device": "cpu", "dtype": "float32"} if not args.model else {}
        backend = create_backend(spec.backend, options)
        try:
            stats = run(
                backend,
                spec.name,
                rows,
                _budgets(args.budgets),
                caps=caps,
                seed=args.seed,
                verify=not args.no_verify,
            )
        finally:
            backend.close()
    if args.json:
        print(
            json.dumps(
                {
                    "note": note,
                    "max_tokens": caps[0],
                    "answer_tokens": caps[1],
                    "results": [s.model_dump() for s in stats],
                },
                indent=2,
            )
        )
    else:
        print(
            f"# {note}; {len(rows)} prompts from {args.data}; "
            f"max_tokens {caps[0]}, answer tokens {caps[1]}; medians"
        )
        print(_table(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())

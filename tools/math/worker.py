"""Entry point of one sandboxed math worker: ``python -m qwen_router.tools.math.worker``.

Protocol: newline-delimited JSON on a private copy of stdout (fd 1 itself is pointed at
stderr so a library that prints cannot corrupt it). The worker says ``ready`` once sympy
is imported, then answers one ``{"question", "answer", "reference", "budget_s"}`` request
per line with :func:`qwen_router.tools.math.check.check`'s dict. Its address space is
capped (``QWEN_ROUTER_MATH_WORKER_MEMORY_MB``) so a runaway expression fails with
``MemoryError`` instead of eating the machine.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]


def _limit_memory() -> None:
    try:
        import resource

        mb = int(os.environ.get("QWEN_ROUTER_MATH_WORKER_MEMORY_MB", "1536"))
        limit = mb * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass


def main() -> int:
    """Serve requests until stdin closes."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _limit_memory()
    import logging

    logging.disable(logging.WARNING)
    from qwen_router.tools.math.check import check

    out.write("ready\n")
    for line in sys.stdin:
        try:
            req = json.loads(line)
            reply = check(
                str(req["question"]),
                str(req["answer"]),
                req.get("reference"),
                float(req["budget_s"]),
            )
        except Exception as exc:  # noqa: BLE001 - a reply must always come back
            reply = {
                "status": "unverifiable",
                "explanation": f"worker error: {type(exc).__name__}",
            }
        except BaseException as exc:  # StepTimeout escaping, KeyboardInterrupt
            reply = {
                "status": "unverifiable",
                "explanation": f"worker stopped: {type(exc).__name__}",
            }
        out.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

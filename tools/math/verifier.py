"""Math answer verification: ``verify(question, answer, reference=None)``.

With a reference, the model's final answer is compared with it through math-verify
(symbolic equality, numeric tolerance, sets, intervals). Without one, the question is
recomputed by sympy when it is a task sympy can do (derivatives, integrals checked by
differentiating, limits, equations, critical points, simplification, evaluation and
plain arithmetic); otherwise the result is honestly ``unverifiable``.

All parsing and sympy work runs in a small pool of worker processes
(:mod:`qwen_router.tools.math.sandbox`) with a hard per-call time limit, so this is safe
to call from any thread, and a hostile or pathological answer costs at most
``timeout_s``. It never raises on model output.
"""

from __future__ import annotations

import time

from qwen_router.types import Verification

from .sandbox import SandboxError, SandboxTimeout, default_pool

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_ANSWER_CHARS",
    "MAX_QUESTION_CHARS",
    "verify",
    "warm_up",
]

DEFAULT_TIMEOUT_S = 5.0
MAX_ANSWER_CHARS = 60_000
MAX_QUESTION_CHARS = 20_000
_MARGIN_S = 0.25  # the worker's own soft deadline ends this much before the hard kill


def warm_up() -> None:
    """Start a worker now so the first :func:`verify` does not wait for sympy to import."""
    default_pool().warm_up()


def verify(
    question: str,
    answer: str,
    reference: str | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Verification:
    """Check a model's math answer.

    Returns a :class:`~qwen_router.types.Verification` with ``verifier="math"`` and
    ``status`` ``verified`` / ``refuted`` / ``unverifiable``; ``extracted`` is the final
    answer found in ``answer``, ``expected`` the reference or sympy's value, ``method``
    ``reference`` / ``sympy:<task>`` / ``arithmetic``.
    """
    if not isinstance(answer, str) or not answer.strip():
        return _unverifiable("the response is empty")
    if not isinstance(question, str):
        question = ""
    if len(answer) > MAX_ANSWER_CHARS:
        return _unverifiable(
            f"the response is longer than {MAX_ANSWER_CHARS} characters"
        )
    if len(question) > MAX_QUESTION_CHARS:
        question = ""  # too long to recompute; a reference can still be checked
    if reference is not None and not isinstance(reference, str):
        reference = str(reference)
    timeout_s = max(0.5, float(timeout_s))
    payload = {
        "question": question,
        "answer": answer,
        "reference": reference[:2000] if reference else reference,
        "budget_s": max(0.2, timeout_s - _MARGIN_S),
    }
    started = time.monotonic()
    try:
        reply = default_pool().call(payload, timeout_s)
    except SandboxTimeout:
        return _unverifiable(f"gave up after {timeout_s:g}s (worker stopped)")
    except SandboxError as exc:
        return _unverifiable(f"the math worker failed: {exc}")
    except OSError as exc:
        return _unverifiable(f"could not start the math worker: {exc}")
    del started
    return Verification(
        status=reply.get("status", "unverifiable"),
        verifier="math",
        extracted=reply.get("extracted"),
        expected=reply.get("expected"),
        explanation=str(reply.get("explanation", "")),
        method=reply.get("method"),
    )


def _unverifiable(why: str) -> Verification:
    return Verification(status="unverifiable", verifier="math", explanation=why)

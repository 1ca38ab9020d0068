"""The whole check for one answer; runs inside a sandboxed worker process.

``check()`` extracts the final answer, parses it safely, and compares it with the
reference when one is given (:mod:`.reference`), or with what sympy recomputes from the
question (:mod:`.dispatch`, :mod:`.compare`). It returns a plain dict (``status``,
``extracted``, ``expected``, ``explanation``, ``method``) that the parent turns into a
:class:`~qwen_router.types.Verification`.

Time: the worker runs this in its main thread, so a SIGALRM deadline
(:func:`~.deadline.deadline`) ends slow sympy work softly with an ``unverifiable``
answer; the parent's hard kill is the backstop for work that never returns to the
interpreter (a giant integer power).
"""

from __future__ import annotations

from typing import Any

from .answer.equiv import parse_answer
from .answer.extract import Extraction, extract_answer
from .answer.numeral import compare_base, in_base
from .answer.steps import check_steps
from .answer.words import is_prose
from .compare import antiderivative_text, compare, show
from .deadline import StepTimeout, deadline
from .dispatch import recognize_any, recompute
from .parse import UnsafeInput
from .recompute.expected import Unsupported
from .reference import against_reference

__all__ = ["StepTimeout", "check"]


def _result(
    status: str,
    explanation: str,
    *,
    extracted: str | None = None,
    expected: str | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "explanation": explanation,
        "extracted": extracted,
        "expected": expected,
        "method": method,
    }


def check(
    question: str, answer: str, reference: str | None, budget_s: float
) -> dict[str, Any]:
    """Verify ``answer`` to ``question``; never raises on bad input."""
    found = extract_answer(answer)
    extracted = found.text if found is not None else None
    has_reference = reference is not None and bool(reference.strip())
    if found is None and not has_reference:
        return _result("unverifiable", "no final answer found in the response")
    try:
        with deadline(budget_s):
            if has_reference:
                assert reference is not None
                status, why = against_reference(answer, found, reference)
                return _result(
                    status,
                    why,
                    extracted=extracted,
                    expected=reference,
                    method="reference",
                )
            assert found is not None
            return _recomputed(question, answer, found)
    except StepTimeout:
        return _result(
            "unverifiable", "sympy ran out of time on this answer", extracted=extracted
        )
    except UnsafeInput as exc:
        return _result("unverifiable", f"refused to parse: {exc}", extracted=extracted)
    except (RecursionError, MemoryError):
        return _result(
            "unverifiable", "expression too large to check", extracted=extracted
        )
    except Exception as exc:  # noqa: BLE001 - never raise on model output
        return _result(
            "unverifiable",
            f"could not check: {type(exc).__name__}",
            extracted=extracted,
        )


def _recomputed(question: str, answer: str, found: Extraction) -> dict[str, Any]:
    extracted = found.text
    task = recognize_any(question)
    if task is None:
        steps = check_steps(answer)
        if steps is not None:
            status, why = steps
            return _result(status, why, extracted=extracted, method="arithmetic-steps")
        return _result(
            "unverifiable",
            "no reference, and the question is not one sympy can recompute",
            extracted=extracted,
        )
    try:
        exp = recompute(task)
    except Unsupported as exc:
        return _result(
            "unverifiable", f"sympy cannot recompute this: {exc}", extracted=extracted
        )
    except (StepTimeout, UnsafeInput):
        raise
    except Exception:  # noqa: BLE001 - the question's math did not parse
        return _result(
            "unverifiable", "could not read the question's math", extracted=extracted
        )
    if exp.compare == "base":
        status, why = compare_base(exp, extracted)
        return _result(
            status, why, extracted=extracted, expected=in_base(exp), method=exp.method
        )
    expected = show(exp.value) if exp.value is not None else antiderivative_text(exp)
    pred = parse_answer(extracted)
    if not pred:
        return _result(
            "unverifiable",
            "could not read the final answer as math",
            extracted=extracted,
            expected=expected,
            method=exp.method,
        )
    status, why = compare(task, exp, pred)
    if status == "refuted" and is_prose(extracted):
        status, why = "unverifiable", "the final answer is prose, not mathematics"
    if status != "verified" and exp.value is None:
        expected = antiderivative_text(exp)
    return _result(
        status, why, extracted=extracted, expected=expected, method=exp.method
    )

"""Math answer verification: ``verify(question, answer, reference=None) -> Verification``.

Layout: :mod:`.verifier` is the entry point (runs the check in a sandboxed worker,
:mod:`.sandbox` / :mod:`.worker`); :mod:`.check` is the whole check inside the worker;
:mod:`.answer` reads the model's answer, :mod:`.recompute` and :mod:`.topics` recompute the
question with sympy; :mod:`.repair` decides between a first answer and its repair.
Importing this package does not import sympy.
"""

from __future__ import annotations

from .verifier import verify, warm_up

__all__ = ["verify", "warm_up"]

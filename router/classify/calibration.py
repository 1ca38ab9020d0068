"""Confidence calibration: Platt scaling per calibration key, ECE, and folds.

``fit_platt`` fits ``sigmoid(a * logit(p) + b)`` to (raw probability, correct)
pairs by Newton's method on the log-likelihood, with a Gaussian prior that pulls
``(a, b)`` towards ``(1, 0)``: a small, nearly error-free fold must not teach the
classifier to say 0.9999. ``qwen-router bench route --cv K`` fits on K-1 folds and
measures on the held-out one (:mod:`qwen_router.bench.route_cv`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

__all__ = ["expected_calibration_error", "fit_platt", "stratified_folds"]


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def fit_platt(
    pairs: Sequence[tuple[float, bool]], *, prior: float = 2.0, iterations: int = 50
) -> tuple[float, float]:
    """``(a, b)`` maximising the penalised likelihood of ``pairs``.

    ``prior`` is the precision of the Gaussian prior around ``(1, 0)`` (in units of
    observations): larger keeps the fit closer to the raw probabilities.
    """
    if not pairs:
        return 1.0, 0.0
    xs = [_logit(p) for p, _ in pairs]
    ys = [1.0 if ok else 0.0 for _, ok in pairs]
    a, b = 1.0, 0.0
    for _ in range(iterations):
        ga, gb = prior * (a - 1.0), prior * b
        haa, hab, hbb = prior, 0.0, prior
        for x, y in zip(xs, ys, strict=True):
            z = max(-30.0, min(30.0, a * x + b))
            q = 1 / (1 + math.exp(-z))
            ga += (q - y) * x
            gb += q - y
            w = q * (1 - q)
            haa += w * x * x
            hab += w * x
            hbb += w
        det = haa * hbb - hab * hab
        if det <= 1e-12:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-7:
            break
    return round(a, 4), round(b, 4)


def expected_calibration_error(
    pairs: Sequence[tuple[float, bool]], bins: int = 5
) -> tuple[float, list[dict[str, float]]]:
    """ECE over ``bins`` equal-width bins of [0.5, 1] (plus one bin below 0.5), and
    the reliability table."""
    edges = [0.5 + i * 0.5 / bins for i in range(bins + 1)]
    edges[0] = 0.0
    table, ece = [], 0.0
    for lo, hi in zip(edges, edges[1:], strict=False):
        inside = [
            (c, ok) for c, ok in pairs if lo <= c < hi or (hi == 1.0 and c == 1.0)
        ]
        if not inside:
            continue
        conf = sum(c for c, _ in inside) / len(inside)
        acc = sum(ok for _, ok in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(conf - acc)
        table.append({
            "lo": round(lo, 2), "hi": round(hi, 2), "n": len(inside),
            "confidence": round(conf, 3), "accuracy": round(acc, 3),
        })  # fmt: skip
    return round(ece, 4), table


def stratified_folds(labels: Sequence[str], k: int, *, seed: int = 0) -> list[int]:
    """A fold number in ``range(k)`` per item, each label spread evenly."""
    rng = random.Random(seed)
    fold = [0] * len(labels)
    by_label: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    offset = 0
    for lab in sorted(by_label):
        idx = by_label[lab]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            fold[i] = (j + offset) % k
        offset += len(idx)
    return fold

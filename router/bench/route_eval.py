"""Route benchmark extras: K-fold cross-validation, multi-turn routing, difficulty.

- :func:`cross_validate`: what the cascade fits on labeled data (the embedding
  stage's temperature and rule weight, picked from a small grid, and Platt scaling
  per calibration key) is fitted on K-1 folds and measured on the held-out fold.
  Every item is classified once; the folds only re-decide.
- :func:`multiturn`: second-turn accuracy on two-turn conversations, with the
  previous route known from the content only, from the assistant turn's recorded
  route, and (for comparison) from the second message alone.
- :func:`difficulty`: the ``difficulty`` signal against MATH-500 levels (Spearman)
  and GSM8K against MATH (AUC).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from qwen_router.errors import ConfigError, InputError
from qwen_router.types import Message

__all__ = [
    "CVReport",
    "DifficultyReport",
    "MultiTurnReport",
    "cross_validate",
    "difficulty",
    "multiturn",
    "spearman",
]

_TEMPERATURES = (0.01, 0.015, 0.02, 0.03, 0.05)
_RULE_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0)


class CVReport(BaseModel):
    data: str
    folds: int
    items: int
    macro_f1: float
    accuracy: float
    recall: dict[str, float]
    ece: float
    reliability: list[dict[str, float]]
    chosen: list[dict[str, Any]]
    fitted_all: dict[str, Any]


class MultiTurnReport(BaseModel):
    data: str
    conversations: int
    first_turn_accuracy: float
    second_turn_accuracy_content: float
    second_turn_accuracy_metadata: float
    second_turn_accuracy_alone: float
    switches_content: int
    per_route: dict[str, dict[str, float]]
    errors: list[dict[str, Any]]


class DifficultyReport(BaseModel):
    data: str
    math500_items: int
    spearman_level: float
    mean_by_level: dict[str, float]
    gsm8k_items: int
    auc_math_over_gsm8k: float
    mean_gsm8k: float
    mean_math500: float


def _jsonl(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"benchmark data not found: {p}")
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}:{n}: not JSON: {exc.msg}") from None
    if not rows:
        raise InputError(f"{p}: no items")
    return rows


def _cascade(profile: Any) -> Any:
    from qwen_router.classify import CascadeClassifier, default_classifier

    clf = default_classifier(profile)
    if not isinstance(clf, CascadeClassifier):
        raise ConfigError("cross-validation needs the cascade classifier")
    return clf


def _macro(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, dict[str, float]]:
    labels = sorted(set(gold))
    f1s, recall = [], {}
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        n_pred = sum(p == lab for p in pred)
        n_gold = sum(g == lab for g in gold)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        recall[lab] = round(rec, 4)
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s), recall


def cross_validate(
    data_path: str | Path, *, folds: int = 5, profile: Any = None, seed: int = 0
) -> CVReport:
    """K-fold cross-validation of the fitted knobs and the calibration.

    Raises:
        InputError: the data file is missing or malformed.
        ConfigError: the profile's classifier is not the cascade.
    """
    from qwen_router.classify.calibration import (
        expected_calibration_error,
        fit_platt,
        stratified_folds,
    )
    from qwen_router.classify.decide import Explained, calibrate

    if folds < 2:
        raise InputError("--cv needs at least 2 folds")
    clf = _cascade(profile)
    rows = _jsonl(data_path)
    gold = [str(r["label"]) for r in rows]
    analysed = [
        clf.analyse([Message(role="user", content=str(r["text"]))]) for r in rows
    ]
    base = clf.config.model_copy(update={"min_confidence": 0.0, "calibration": {}})
    grid = [(t, w) for t in _TEMPERATURES for w in _RULE_WEIGHTS]
    preds: dict[tuple[float, float], list[tuple[str, float, str]]] = {}
    for t, w in grid:
        cfg = base.model_copy(update={"embedding_temperature": t, "rule_weight": w})
        out = []
        for a in analysed:
            e = a if isinstance(a, Explained) else clf.decide(a, cfg)
            out.append((e.decision.route, e.raw, e.key))
        preds[(t, w)] = out
    default = (clf.config.embedding_temperature, clf.config.rule_weight)
    min_conf = clf.config.min_confidence

    def fit(
        idx: list[int],
    ) -> tuple[tuple[float, float], dict[str, tuple[float, float]]]:
        def score(g: tuple[float, float]) -> tuple[float, float]:
            f1, _ = _macro([gold[i] for i in idx], [preds[g][i][0] for i in idx])
            closeness = -abs(g[0] - default[0]) - abs(g[1] - default[1]) / 100
            return round(f1, 6), closeness

        g = max(grid, key=score)
        by_key: dict[str, list[tuple[float, bool]]] = {}
        for i in idx:
            route, raw, key = preds[g][i]
            by_key.setdefault(key, []).append((raw, route == gold[i]))
        cal = {k: fit_platt(v) for k, v in by_key.items() if k != "structure"}
        return g, cal

    fold_of = stratified_folds(gold, folds, seed=seed)
    held: list[tuple[str, float]] = [("", 0.0)] * len(rows)
    chosen = []
    for f in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != f]
        g, cal = fit(train)
        chosen.append(
            {"fold": f, "temperature": g[0], "rule_weight": g[1], "calibration": cal}
        )
        for i in (i for i in range(len(rows)) if fold_of[i] == f):
            route, raw, key = preds[g][i]
            conf = 0.99 if key == "structure" else calibrate(cal, key, raw)
            if conf < min_conf and route != "general":
                route = "general"
            held[i] = (route, conf)
    f1, recall = _macro(gold, [r for r, _ in held])
    pairs = [(c, r == g) for (r, c), g in zip(held, gold, strict=True)]
    ece, table = expected_calibration_error(pairs)
    g_all, cal_all = fit(list(range(len(rows))))
    return CVReport(
        data=str(data_path), folds=folds, items=len(rows), macro_f1=round(f1, 4),
        accuracy=round(sum(r == g for (r, _), g in zip(held, gold, strict=True)) / len(rows), 4),
        recall=recall, ece=ece, reliability=table, chosen=chosen,
        fitted_all={"embedding_temperature": g_all[0], "rule_weight": g_all[1],
                    "calibration": cal_all},
    )  # fmt: skip


def multiturn(data_path: str | Path, *, profile: Any = None) -> MultiTurnReport:
    """Second-turn accuracy on ``{"id", "route", "turns": [t1, t2, ...]}`` lines.

    Raises:
        InputError: the data file is missing or malformed.
    """
    from qwen_router.classify import default_classifier

    clf = default_classifier(profile)
    rows = _jsonl(data_path)
    first = content = meta = alone = switches = 0
    per: dict[str, list[int]] = {}
    errors = []
    for r in rows:
        turns = r.get("turns")
        if not isinstance(turns, list) or len(turns) < 2 or "route" not in r:
            raise InputError(f"{data_path}: each line needs 'route' and two 'turns'")
        want = str(r["route"])
        u1 = Message(role="user", content=str(turns[0]))
        u2 = Message(role="user", content=str(turns[1]))
        d1 = clf.classify([u1])
        placeholder = "(the assistant's answer to the first question)"
        dc = clf.classify([u1, Message(role="assistant", content=placeholder), u2])
        dm = clf.classify(
            [u1, Message(role="assistant", content=placeholder, route=d1.route), u2]
        )
        da = clf.classify([u2])
        first += d1.route == want
        content += dc.route == want
        meta += dm.route == want
        alone += da.route == want
        switches += dc.route != d1.route
        per.setdefault(want, [0, 0])
        per[want][0] += 1
        per[want][1] += dc.route == want
        if dc.route != want:
            errors.append({"id": r.get("id"), "want": want, "got": dc.route,
                           "stage": dc.stage, "turn": str(turns[1])[:100]})  # fmt: skip
    n = len(rows)
    return MultiTurnReport(
        data=str(data_path), conversations=n, first_turn_accuracy=round(first / n, 4),
        second_turn_accuracy_content=round(content / n, 4),
        second_turn_accuracy_metadata=round(meta / n, 4),
        second_turn_accuracy_alone=round(alone / n, 4), switches_content=switches,
        per_route={k: {"n": v[0], "accuracy": round(v[1] / v[0], 4)} for k, v in sorted(per.items())},
        errors=errors,
    )  # fmt: skip


def _ranks(xs: Sequence[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get average ranks)."""
    rx, ry = _ranks(xs), _ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return round(cov / (vx * vy), 4) if vx and vy else 0.0


def difficulty(data_path: str | Path, *, profile: Any = None) -> DifficultyReport:
    """The classifier's difficulty against MATH-500 levels and GSM8K vs MATH, on
    lines with ``question``, ``source`` and (MATH-500) ``level``.

    Raises:
        InputError: the data file is missing, malformed or has no MATH-500 items.
    """
    from qwen_router.classify import default_classifier

    clf = default_classifier(profile)
    levels, dm, dg = [], [], []
    for r in _jsonl(data_path):
        text = str(r.get("question") or r.get("text") or "")
        d = clf.classify([Message(role="user", content=text)]).difficulty or 0.0
        source = str(r.get("source", "")).lower()
        if r.get("level") is not None and "gsm8k" not in source:
            levels.append(int(str(r["level"]).removeprefix("Level ").strip() or 0))
            dm.append(d)
        elif "gsm8k" in source:
            dg.append(d)
    if not dm:
        raise InputError(f"{data_path}: no MATH-500 items with a level")
    by_level: dict[str, list[float]] = {}
    for lv, d in zip(levels, dm, strict=True):
        by_level.setdefault(str(lv), []).append(d)
    wins = sum((a > b) + 0.5 * (a == b) for a in dm for b in dg)
    return DifficultyReport(
        data=str(data_path), math500_items=len(dm), spearman_level=spearman(levels, dm),
        mean_by_level={k: round(sum(v) / len(v), 3) for k, v in sorted(by_level.items())},
        gsm8k_items=len(dg),
        auc_math_over_gsm8k=round(wins / (len(dm) * len(dg)), 4) if dg else 0.0,
        mean_gsm8k=round(sum(dg) / len(dg), 3) if dg else 0.0,
        mean_math500=round(sum(dm) / len(dm), 3),
    )  # fmt: skip

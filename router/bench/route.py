"""Route benchmark: how well the classifier labels a JSONL file of prompts.

Each line is ``{"text", "label", "also"?, "lang"?, "id"?}``. The report has per-label
precision / recall / F1 and macro-F1 over the primary route, the confusion matrix,
the share of items whose ``also`` label(s) the classifier also reported, language-ID
accuracy on non-English items, calibration (expected calibration error and a
reliability table), and per-stage latency (p50 / p99) with how often each stage ran.

    qwen-router bench route                     # the packaged 40-prompt sample
    qwen-router bench route --data ../shared/data/route_dev.jsonl [--json]
    qwen-router bench route --data ../shared/data/route_dev.jsonl --cv 5
    qwen-router bench route --multiturn data/multiturn/mt_bench.jsonl
    qwen-router bench route --difficulty ../shared/data/math_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from qwen_router.classify.calibration import expected_calibration_error
from qwen_router.errors import InputError, RouterError
from qwen_router.types import Message

__all__ = [
    "ItemResult",
    "LabelMetrics",
    "RouteBenchReport",
    "StageLatency",
    "main",
    "run",
]


class LabelMetrics(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int


class StageLatency(BaseModel):
    stage: str
    reached: int
    share: float
    p50_ms: float
    p99_ms: float


class ItemResult(BaseModel):
    id: str
    label: str
    predicted: str
    labels: list[str]
    confidence: float
    stage: str
    lang: str | None
    gold_lang: str | None


class RouteBenchReport(BaseModel):
    data: str
    items: int
    accuracy: float
    macro_f1: float
    per_label: list[LabelMetrics]
    confusion: dict[str, dict[str, int]]
    also_detected: dict[str, float] = Field(
        description="per also-label: share of items carrying it whose labels include it"
    )
    also_support: dict[str, int]
    lang_accuracy_non_english: float | None
    lang_support_non_english: int
    lang_accuracy_all: float | None
    ece: float
    reliability: list[dict[str, float]]
    fallbacks: int
    load_ms: float
    latency: list[StageLatency]
    total_p50_ms: float
    total_p99_ms: float
    errors: list[ItemResult]


def _read(path: Path) -> list[dict[str, Any]]:
    """Rows of a labeled JSONL file.

    Raises:
        InputError: the file is missing, or a line is not an object with text and label.
    """
    if not path.is_file():
        raise InputError(f"benchmark data not found: {path}")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise InputError(f"{path}:{n}: each line needs 'text' and 'label'")
        rows.append(row)
    if not rows:
        raise InputError(f"{path}: no items")
    return rows


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[k], 3)


def _classify(classifier: Any, text: str) -> tuple[Any, dict[str, float], float]:
    messages = [Message(role="user", content=text)]
    t0 = time.perf_counter()
    if hasattr(classifier, "classify_with_timings"):
        decision, stages = classifier.classify_with_timings(messages)
    else:
        decision, stages = classifier.classify(messages), {}
    return decision, stages, (time.perf_counter() - t0) * 1000


def run(data_path: str | Path, *, profile: Any = None) -> RouteBenchReport:
    """Classify every item of ``data_path`` with the profile's classifier; score it.

    Raises:
        InputError: the data file is missing or malformed.
        ConfigError: the profile or its classifier section is invalid.
    """
    from qwen_router.classify import default_classifier

    rows = _read(Path(data_path))
    classifier = default_classifier(profile)
    t0 = time.perf_counter()
    if hasattr(classifier, "warm_up"):
        classifier.warm_up()
    _classify(classifier, "Which of these is warmer: a cup of tea or a glass of water?")
    load_ms = (time.perf_counter() - t0) * 1000

    results: list[ItemResult] = []
    stage_ms: dict[str, list[float]] = {}
    totals: list[float] = []
    pairs: list[tuple[float, bool]] = []
    also_hit: Counter[str] = Counter()
    also_n: Counter[str] = Counter()
    fallbacks = 0
    for i, row in enumerate(rows):
        decision, stages, total = _classify(classifier, str(row["text"]))
        totals.append(total)
        for stage, ms in stages.items():
            stage_ms.setdefault(stage, []).append(ms)
        gold = str(row["label"])
        also = row.get("also") or []
        for a in [also] if isinstance(also, str) else also:
            also_n[a] += 1
            also_hit[a] += a in decision.labels
        fallbacks += any(s.startswith("fell back") for s in decision.signals)
        pairs.append((decision.confidence, decision.route == gold))
        results.append(
            ItemResult(
                id=str(row.get("id", i)),
                label=gold,
                predicted=decision.route,
                labels=list(decision.labels),
                confidence=decision.confidence,
                stage=decision.stage,
                lang=decision.lang,
                gold_lang=row.get("lang"),
            )
        )

    gold_labels = sorted({r.label for r in results})
    all_labels = sorted({r.label for r in results} | {r.predicted for r in results})
    confusion = {g: {p: 0 for p in all_labels} for g in gold_labels}
    for r in results:
        confusion[r.label][r.predicted] += 1
    per_label = []
    for lab in gold_labels:
        tp = confusion[lab][lab]
        pred_n = sum(confusion[g].get(lab, 0) for g in gold_labels)
        sup = sum(confusion[lab].values())
        p = tp / pred_n if pred_n else 0.0
        rec = tp / sup if sup else 0.0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        per_label.append(
            LabelMetrics(
                label=lab,
                precision=round(p, 4),
                recall=round(rec, 4),
                f1=round(f1, 4),
                support=sup,
            )
        )
    with_lang = [r for r in results if r.gold_lang]
    non_en = [r for r in with_lang if r.gold_lang != "en"]
    ece, table = expected_calibration_error(pairs)
    n = len(rows)
    return RouteBenchReport(
        data=str(data_path),
        items=n,
        accuracy=round(sum(r.label == r.predicted for r in results) / n, 4),
        macro_f1=round(sum(m.f1 for m in per_label) / len(per_label), 4),
        per_label=per_label,
        confusion=confusion,
        also_detected={a: round(also_hit[a] / also_n[a], 4) for a in sorted(also_n)},
        also_support=dict(sorted(also_n.items())),
        lang_accuracy_non_english=(
            round(sum(r.lang == r.gold_lang for r in non_en) / len(non_en), 4)
            if non_en
            else None
        ),
        lang_support_non_english=len(non_en),
        lang_accuracy_all=(
            round(sum(r.lang == r.gold_lang for r in with_lang) / len(with_lang), 4)
            if with_lang
            else None
        ),
        ece=ece,
        reliability=table,
        fallbacks=fallbacks,
        load_ms=round(load_ms, 1),
        latency=[
            StageLatency(
                stage=s,
                reached=len(v),
                share=round(len(v) / n, 4),
                p50_ms=_pct(v, 0.5),
                p99_ms=_pct(v, 0.99),
            )
            for s, v in stage_ms.items()
        ],
        total_p50_ms=_pct(totals, 0.5),
        total_p99_ms=_pct(totals, 0.99),
        errors=[r for r in results if r.label != r.predicted],
    )


def _plain(report: RouteBenchReport) -> str:
    out = [
        f"route benchmark: {report.data} ({report.items} items)",
        f"accuracy {report.accuracy:.4f}   macro-F1 {report.macro_f1:.4f}",
        "",
        f"{'label':<14}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>9}",
    ]
    for m in report.per_label:
        out.append(
            f"{m.label:<14}{m.precision:>10.4f}{m.recall:>10.4f}{m.f1:>10.4f}{m.support:>9}"
        )
    cols = list(next(iter(report.confusion.values())))
    out += [
        "",
        "confusion (rows: gold, columns: predicted)",
        f"{'':<14}" + "".join(f"{c[:12]:>13}" for c in cols),
    ]
    for gold, row in report.confusion.items():
        out.append(f"{gold:<14}" + "".join(f"{row[c]:>13}" for c in cols))
    out.append("")
    for a, share in report.also_detected.items():
        out.append(
            f"also '{a}' detected: {share:.4f} of {report.also_support[a]} items"
        )
    if report.lang_accuracy_non_english is not None:
        out.append(
            f"language ID accuracy, non-English items: "
            f"{report.lang_accuracy_non_english:.4f} "
            f"of {report.lang_support_non_english}"
        )
    if report.lang_accuracy_all is not None:
        out.append(
            f"language ID accuracy, all items with lang: {report.lang_accuracy_all:.4f}"
        )
    out.append(f"fallbacks to general: {report.fallbacks}")
    out += ["", f"calibration: ECE {report.ece:.4f}"]
    for b in report.reliability:
        out.append(
            f"  conf [{b['lo']:.2f}, {b['hi']:.2f}): n={int(b['n']):>4}  "
            f"mean conf {b['confidence']:.3f}  accuracy {b['accuracy']:.3f}"
        )
    out += [
        "",
        f"latency (model load + first call {report.load_ms:.0f} ms, excluded)",
        f"{'stage':<12}{'reached':>9}{'share':>8}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    for s in report.latency:
        out.append(
            f"{s.stage:<12}{s.reached:>9}{s.share:>8.2%}{s.p50_ms:>9.3f}{s.p99_ms:>9.3f}"
        )
    out.append(
        f"{'total':<12}{report.items:>9}{1:>8.2%}{report.total_p50_ms:>9.3f}"
        f"{report.total_p99_ms:>9.3f}"
    )
    if report.errors:
        out += ["", f"misrouted ({len(report.errors)}):"]
        for e in report.errors:
            out.append(
                f"  {e.id}: gold {e.label}, got {e.predicted} "
                f"(conf {e.confidence:.2f}, stage {e.stage}, labels {e.labels})"
            )
    return "\n".join(out)


def _rich(report: RouteBenchReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]route benchmark[/] {report.data} ({report.items} items): "
        f"accuracy [bold]{report.accuracy:.4f}[/], "
        f"macro-F1 [bold]{report.macro_f1:.4f}[/]"
    )
    t = Table("label", "precision", "recall", "F1", "support")
    for m in report.per_label:
        t.add_row(
            m.label,
            f"{m.precision:.4f}",
            f"{m.recall:.4f}",
            f"{m.f1:.4f}",
            str(m.support),
        )
    console.print(t)
    cols = list(next(iter(report.confusion.values())))
    c = Table("gold \\ predicted", *cols)
    for gold, row in report.confusion.items():
        c.add_row(gold, *(str(row[x]) for x in cols))
    console.print(c)
    lat = Table("stage", "reached", "share", "p50 ms", "p99 ms")
    for s in report.latency:
        lat.add_row(
            s.stage,
            str(s.reached),
            f"{s.share:.2%}",
            f"{s.p50_ms:.3f}",
            f"{s.p99_ms:.3f}",
        )
    lat.add_row(
        "total",
        str(report.items),
        "100%",
        f"{report.total_p50_ms:.3f}",
        f"{report.total_p99_ms:.3f}",
    )
    console.print(lat)
    # the remaining lines are the same as the plain report's tail
    tail = _plain(report).split("\n\n")
    for block in tail[3:]:
        if not block.startswith("latency"):
            console.print(block, highlight=False, markup=False)


def _sample() -> str:
    import importlib.resources

    return str(importlib.resources.files("qwen_router.bench") / "data" / "route_sample.jsonl")


def _print_extra(args: argparse.Namespace) -> None:
    from .route_eval import cross_validate, difficulty, multiturn

    data = args.data or _sample()
    reports: list[Any] = []
    if args.cv:
        r = cross_validate(data, folds=args.cv, profile=args.profile)
        reports.append(r)
        if not args.json:
            print(f"{args.cv}-fold cross-validation: {r.data} ({r.items} items)")
            print(f"held-out macro-F1 {r.macro_f1:.4f}   accuracy {r.accuracy:.4f}   "
                  f"ECE {r.ece:.4f}")  # fmt: skip
            print("held-out recall: " + ", ".join(f"{k} {v:.4f}" for k, v in r.recall.items()))
            for c in r.chosen:
                print(f"  fold {c['fold']}: temperature {c['temperature']}, "
                      f"rule_weight {c['rule_weight']}, calibration {c['calibration']}")
            print(f"fitted on all: {r.fitted_all}")
    if args.multiturn:
        m = multiturn(args.multiturn, profile=args.profile)
        reports.append(m)
        if not args.json:
            print(f"multi-turn: {m.data} ({m.conversations} conversations)")
            print(f"first turns {m.first_turn_accuracy:.4f}; second turns: content "
                  f"{m.second_turn_accuracy_content:.4f}, recorded route "
                  f"{m.second_turn_accuracy_metadata:.4f}, last message alone "
                  f"{m.second_turn_accuracy_alone:.4f}; route switches {m.switches_content}")
            for e in m.errors:
                print(f"  {e['id']}: want {e['want']}, got {e['got']} ({e['stage']})")
    if args.difficulty:
        d = difficulty(args.difficulty, profile=args.profile)
        reports.append(d)
        if not args.json:
            print(f"difficulty: {d.data}: Spearman vs MATH-500 level "
                  f"{d.spearman_level:.4f} ({d.math500_items} items), mean by level "
                  f"{d.mean_by_level}; AUC MATH over GSM8K {d.auc_math_over_gsm8k:.4f} "
                  f"(means {d.mean_math500:.3f} vs {d.mean_gsm8k:.3f})")
    if args.json:
        print(json.dumps([r.model_dump() for r in reports], indent=2))


def main(argv: list[str] | None = None) -> int:
    """``qwen-router bench route [--data FILE.jsonl] [--cv K] [--multiturn FILE]
    [--difficulty FILE] [--json] [--profile P]``."""
    parser = argparse.ArgumentParser(
        prog="qwen-router bench route", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", default=None,
        help="labeled JSONL (text, label, also?, lang?); default: the packaged sample",
    )  # fmt: skip
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="K-fold cross-validation of the fitted knobs and calibration")
    parser.add_argument("--multiturn", default=None, metavar="FILE",
                        help="two-turn conversations: {id, route, turns}")
    parser.add_argument("--difficulty", default=None, metavar="FILE",
                        help="math problems with source and MATH level (math_dev.jsonl)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--profile", default=None, help="profile name or YAML path (default: local)"
    )
    args = parser.parse_args(argv)
    try:
        if args.cv or args.multiturn or args.difficulty:
            _print_extra(args)
            return 0
        report = run(args.data or _sample(), profile=args.profile)
    except RouterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    try:
        import rich  # noqa: F401

        fancy = sys.stdout.isatty()
    except ImportError:
        fancy = False
    if fancy:
        _rich(report)
    else:
        print(_plain(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

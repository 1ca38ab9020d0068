"""Benchmark the math verifier on a JSONL file of problems with worked solutions.

Each line holds ``question``, ``solution`` (the text to check) and ``reference`` (the final
answer), optionally ``source`` and ``subject``. Four measurements:

* own reference: ``verify(question, solution, reference)`` should be ``verified``;
* cross reference: the solution against another problem's (different) reference should
  never be ``verified``;
* no reference: ``verify(question, solution)`` should almost never be ``refuted``, and the
  share sympy recomputes and ``verified`` is the coverage, reported by subject/source;
* time per call (p50 / p99, ms), no-reference mode.

Separately, the share of no-reference answers whose worked arithmetic was checked step by
step (``method="arithmetic-steps"``): those stay ``unverifiable`` (the final answer is not
recomputed from the question), or are ``refuted`` when a step is wrong.

With ``--suite FILE`` it runs a labelled gold/prediction suite instead (Math-Verify's own
test cases, ``tests/tools/data/mathverify_cases.jsonl``): each case is
``verify("", pred, gold)``; agreement with the labels, false ``verified`` and false
``refuted`` are reported separately, next to plain math-verify on the same inputs (bare
gold wrapped in ``$...$``). A pair that the suite labels both ways under different
Math-Verify options is scored once, under the option qwen-router uses (strict variable
comparison on, set/relation comparison on).

Run: ``qwen-router bench math --data ../shared/data/math_dev.jsonl [--json]`` or
``qwen-router bench math --suite tests/tools/data/mathverify_cases.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from qwen_router.bench.samples import sample_path

__all__ = ["GroupStats", "MathBenchReport", "SuiteReport", "main", "run", "run_suite"]


class GroupStats(BaseModel):
    """No-reference outcome counts for one subject or source."""

    n: int = 0
    verified: int = 0
    refuted: int = 0
    unverifiable: int = 0
    steps_checked: int = 0  # unverifiable, but every arithmetic step checked out

    @property
    def coverage(self) -> float:
        return self.verified / self.n if self.n else 0.0


class MathBenchReport(BaseModel):
    """Rates measured by :func:`run` (fractions in 0..1, times in ms)."""

    n: int
    own_verified_rate: float
    cross_false_verified_rate: float
    cross_pairs: int
    noref_refuted_rate: float
    noref_verified_coverage: float
    by_group: dict[str, GroupStats] = Field(default_factory=dict)
    by_source: dict[str, GroupStats] = Field(default_factory=dict)
    methods: dict[str, int] = Field(default_factory=dict)
    steps_checked_rate: float = 0.0
    steps_refuted: int = 0
    p50_ms: float
    p99_ms: float
    own_failures: list[str] = Field(default_factory=list)
    cross_false_verified: list[str] = Field(default_factory=list)
    noref_refuted: list[str] = Field(default_factory=list)


def _load(path: Path, limit: int | None) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _group(row: dict[str, Any]) -> str:
    if row.get("subject"):
        return str(row["subject"])
    source = str(row.get("source") or "unknown")
    return source.split(" ")[0]


def _partner(rows: list[dict[str, Any]], i: int) -> int | None:
    """The next problem (cyclically, offset 7) whose reference differs textually."""
    mine = "".join(str(rows[i]["reference"]).split())
    for step in range(1, len(rows)):
        j = (i + 7 * step) % len(rows)
        if j != i and "".join(str(rows[j]["reference"]).split()) != mine:
            return j
    return None


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(
    data_path: str | Path, *, limit: int | None = None, timeout_s: float = 5.0
) -> MathBenchReport:
    """Measure the verifier on ``data_path`` (JSONL with question/solution/reference)."""
    from qwen_router.tools.math import verify, warm_up

    rows = _load(Path(data_path), limit)
    warm_up()
    own_ok, cross_bad, cross_n, refuted, steps_refuted = 0, 0, 0, 0, 0
    own_fail: list[str] = []
    cross_fail: list[str] = []
    refuted_ids: list[str] = []
    groups: dict[str, GroupStats] = defaultdict(GroupStats)
    sources: dict[str, GroupStats] = defaultdict(GroupStats)
    methods: Counter[str] = Counter()
    times: list[float] = []
    for i, row in enumerate(rows):
        rid = str(row.get("id", i))
        q, sol, ref = str(row["question"]), str(row["solution"]), str(row["reference"])
        if verify(q, sol, ref, timeout_s=timeout_s).status == "verified":
            own_ok += 1
        else:
            own_fail.append(rid)
        j = _partner(rows, i)
        if j is not None:
            cross_n += 1
            other = str(rows[j]["reference"])
            if verify(q, sol, other, timeout_s=timeout_s).status == "verified":
                cross_bad += 1
                cross_fail.append(f"{rid} vs {rows[j].get('id', j)}")
        t0 = time.perf_counter()
        res = verify(q, sol, timeout_s=timeout_s)
        times.append((time.perf_counter() - t0) * 1000)
        g = groups[_group(row)]
        src = sources[str(row.get("source") or "unknown").split(" ")[0]]
        g.n += 1
        src.n += 1
        src.verified += res.status == "verified"
        src.refuted += res.status == "refuted"
        if res.status == "verified":
            g.verified += 1
            methods[res.method or "?"] += 1
        elif res.status == "refuted":
            if res.method == "arithmetic-steps":
                steps_refuted += 1
            g.refuted += 1
            refuted += 1
            refuted_ids.append(
                f"{rid}: {res.extracted!r} vs {res.expected!r} ({res.method})"
            )
        else:
            g.unverifiable += 1
            if res.method == "arithmetic-steps":
                g.steps_checked += 1
    n = len(rows) or 1
    return MathBenchReport(
        n=len(rows),
        own_verified_rate=own_ok / n,
        cross_false_verified_rate=cross_bad / (cross_n or 1),
        cross_pairs=cross_n,
        noref_refuted_rate=refuted / n,
        noref_verified_coverage=sum(g.verified for g in groups.values()) / n,
        by_group=dict(sorted(groups.items())),
        by_source=dict(sorted(sources.items())),
        methods=dict(methods.most_common()),
        steps_checked_rate=sum(g.steps_checked for g in groups.values()) / n,
        steps_refuted=steps_refuted,
        p50_ms=_percentile(times, 0.50),
        p99_ms=_percentile(times, 0.99),
        own_failures=own_fail,
        cross_false_verified=cross_fail,
        noref_refuted=refuted_ids,
    )


class SuiteReport(BaseModel):
    """Agreement of the verifier, and of plain math-verify, with a labelled suite."""

    n: int
    skipped: list[str] = Field(default_factory=list)
    agreement: float
    false_verified: list[str] = Field(default_factory=list)
    false_refuted: list[str] = Field(default_factory=list)
    unverifiable_true: list[str] = Field(default_factory=list)
    plain_agreement: float
    plain_false_verified: list[str] = Field(default_factory=list)


# the options qwen-router's comparison uses; a case labelled under another value of them is
# dropped when the same pair is also labelled under these
_OUR_OPTIONS = {"strict": True, "allow_set_relation_comp": True}


def _scored(cases: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    labels: dict[tuple[str, str], set[bool]] = defaultdict(set)
    for c in cases:
        labels[(c["gold"], c["pred"])].add(bool(c["expected"]))
    def fit(c: dict[str, Any]) -> int:
        return sum(c.get(k, v) == v for k, v in _OUR_OPTIONS.items())

    best: dict[tuple[str, str], int] = defaultdict(int)
    for c in cases:
        best[(c["gold"], c["pred"])] = max(best[(c["gold"], c["pred"])], fit(c))
    keep, skipped = [], []
    for c in cases:
        pair = (c["gold"], c["pred"])
        if len(labels[pair]) > 1 and fit(c) < best[pair]:
            skipped.append(f"{c.get('id')}: labelled under another option value")
            continue
        keep.append(c)
    return keep, skipped


def _plain_math_verify(gold: str, pred: str) -> bool:
    from math_verify import parse
    from math_verify import verify as mv_verify

    bare = not ("$" in gold or "\\boxed" in gold)
    try:
        return bool(mv_verify(parse(f"${gold}$" if bare else gold), parse(pred)))
    except Exception:  # noqa: BLE001 - a crash counts as "not equal"
        return False


def run_suite(suite_path: str | Path, *, timeout_s: float = 5.0) -> SuiteReport:
    """Score the verifier on a labelled JSONL suite (``gold``, ``pred``, ``expected``)."""
    from qwen_router.tools.math import verify, warm_up

    cases, skipped = _scored(_load(Path(suite_path), None))
    warm_up()
    agree = plain_agree = 0
    fv: list[str] = []
    fr: list[str] = []
    unv: list[str] = []
    plain_fv: list[str] = []
    for i, c in enumerate(cases):
        cid, label = str(c.get("id", i)), bool(c["expected"])
        status = verify("", str(c["pred"]), str(c["gold"]), timeout_s=timeout_s).status
        agree += (status == "verified") == label
        if status == "verified" and not label:
            fv.append(cid)
        elif status == "refuted" and label:
            fr.append(cid)
        elif status == "unverifiable" and label:
            unv.append(cid)
        plain = _plain_math_verify(str(c["gold"]), str(c["pred"]))
        plain_agree += plain == label
        if plain and not label:
            plain_fv.append(cid)
    n = len(cases) or 1
    return SuiteReport(
        n=len(cases),
        skipped=skipped,
        agreement=agree / n,
        false_verified=fv,
        false_refuted=fr,
        unverifiable_true=unv,
        plain_agreement=plain_agree / n,
        plain_false_verified=plain_fv,
    )


def _print_suite(report: SuiteReport) -> None:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    print(f"cases scored                      {report.n}  (skipped {len(report.skipped)})")
    print(f"agreement with labels             {pct(report.agreement)}")
    print(f"false verified                    {len(report.false_verified)}")
    print(f"false refuted                     {len(report.false_refuted)}")
    print(f"unverifiable, labelled equal      {len(report.unverifiable_true)}")
    print(
        f"plain math-verify agreement       {pct(report.plain_agreement)}"
        f"  (false verified {len(report.plain_false_verified)})"
    )
    for title, items in (
        ("skipped", report.skipped),
        ("false verified", report.false_verified),
        ("false refuted", report.false_refuted),
        ("unverifiable, labelled equal", report.unverifiable_true),
        ("plain math-verify false verified", report.plain_false_verified),
    ):
        if items:
            print(f"{title}:")
            for item in items:
                print(f"  {item}")


def _print(report: MathBenchReport) -> None:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    print(f"problems                          {report.n}")
    print(f"own reference verified            {pct(report.own_verified_rate)}")
    print(
        f"cross reference false verified    {pct(report.cross_false_verified_rate)}"
        f"  ({report.cross_pairs} pairs)"
    )
    print(f"no reference refuted              {pct(report.noref_refuted_rate)}")
    print(f"no reference verified (coverage)  {pct(report.noref_verified_coverage)}")
    for name, src in report.by_source.items():
        print(
            f"  {name + ' coverage':<32}{pct(src.coverage):>6}  ({src.verified}/{src.n},"
            f" refuted {src.refuted})"
        )
    print("coverage by subject/source:")
    for name, g in report.by_group.items():
        print(
            f"  {name:<24} {g.verified:>3}/{g.n:<3} {pct(g.coverage):>6}   "
            f"refuted {g.refuted}  unverifiable {g.unverifiable}"
        )
    print(
        f"arithmetic steps all checked      {pct(report.steps_checked_rate)}"
        f"  (unverifiable: final answer not recomputed; refuted by a wrong step:"
        f" {report.steps_refuted})"
    )
    for name, g in report.by_group.items():
        if g.steps_checked:
            print(f"  {name:<24} {g.steps_checked:>3}/{g.n:<3} steps checked")
    print(
        "verified by method: "
        + ", ".join(f"{k} {v}" for k, v in report.methods.items())
    )
    print(
        f"time per call (no reference)      p50 {report.p50_ms:.1f} ms   p99 {report.p99_ms:.1f} ms"
    )
    for title, items in (
        ("own-reference failures", report.own_failures),
        ("cross-reference false verified", report.cross_false_verified),
        ("no-reference refuted", report.noref_refuted),
    ):
        if items:
            print(f"{title}:")
            for item in items:
                print(f"  {item}")


def main(argv: list[str] | None = None) -> int:
    """``qwen-router bench math [--data FILE.jsonl | --suite FILE] [--json] [--limit N]``."""
    parser = argparse.ArgumentParser(
        prog="qwen-router bench math", description=__doc__.split("\n")[0]
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        help="JSONL with question, solution, reference (default: the shipped sample)",
    )
    source.add_argument(
        "--suite", help="JSONL of labelled gold/pred cases (Math-Verify's test cases)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N problems"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per verify call"
    )
    args = parser.parse_args(argv)
    path = Path(args.data or args.suite) if args.data or args.suite else sample_path("math")
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    try:
        if args.suite:
            suite = run_suite(path, timeout_s=args.timeout)
        else:
            report = run(path, limit=args.limit, timeout_s=args.timeout)
    except ImportError as exc:
        print(f"error: {exc} (pip install 'qwen-router[math]')", file=sys.stderr)
        return 2
    except (KeyError, ValueError) as exc:
        print(f"error: {path} is not a valid data file: {exc}", file=sys.stderr)
        return 2
    if args.suite:
        print(suite.model_dump_json(indent=2)) if args.json else _print_suite(suite)
    elif args.json:
        print(report.model_dump_json(indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

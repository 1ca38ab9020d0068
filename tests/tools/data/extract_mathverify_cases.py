"""Regenerate ``mathverify_cases.jsonl`` from a checkout of huggingface/Math-Verify.

Usage: ``python extract_mathverify_cases.py PATH/TO/Math-Verify/tests > mathverify_cases.jsonl``

Reads every ``@pytest.mark.parametrize`` whose arguments include ``gold`` and ``pred`` and
records each literal case with the options its test passes to ``compare_strings``
(``match_types``, ``precision``, ``strict``, ``allow_set_relation_comp``). Nothing is
imported or executed: the files are parsed with :mod:`ast`.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

__all__ = ["cases"]

_OPTIONS = ("match_types", "precision", "strict", "allow_set_relation_comp")
_DEFAULTS = {"match_types": ["latex", "expr"], "precision": 6, "strict": True,
             "allow_set_relation_comp": False}


def _call_options(fn: ast.FunctionDef) -> dict[str, object]:
    """The keyword arguments of the test's ``compare_strings(...)`` call (names kept as str)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            out: dict[str, object] = {}
            for kw in node.keywords:
                try:
                    out[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    out[kw.arg] = {"param": ast.unparse(kw.value)}
            return out
    return {}


def cases(tests_dir: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            options = _call_options(fn)
            for deco in fn.decorator_list:
                if not (isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("parametrize")):
                    continue
                names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
                if "gold" not in names or "pred" not in names:
                    continue
                for i, item in enumerate(deco.args[1].elts):
                    try:
                        values = ast.literal_eval(item)
                    except ValueError:
                        continue
                    row = dict(zip(names, values, strict=False))
                    label = row.get("expected", row.get("result"))
                    case: dict[str, object] = {
                        "id": f"{path.stem}::{fn.name}[{i}]",
                        "gold": row["gold"],
                        "pred": row["pred"],
                        "expected": bool(label),
                    }
                    for key in _OPTIONS:
                        value = options.get(key, _DEFAULTS[key])
                        if isinstance(value, dict):  # a parametrized option
                            value = row.get(value["param"], _DEFAULTS[key])
                        case[key] = value
                    out.append(case)
    return out


if __name__ == "__main__":
    for case in cases(Path(sys.argv[1])):
        print(json.dumps(case, ensure_ascii=False))

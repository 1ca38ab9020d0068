"""The console script, run as a user would: a subprocess per command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "qwen_router.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "empty"),
        (["ask", "hi", "--profile", "nope"], "unknown profile"),
        (["ask", "hi", "--route", "poetry"], "unknown route"),
        (["ask", "hi", "--image", "/no/such/image.png"], "image not found"),
        (["ask", "hi", "--model", "hf:/no/such/folder"], "no transformers model"),
        (["ask", "hi", "--model", "nonsense"], "BACKEND:MODEL"),
        (["classify", "--jsonl", "/no/such/file.jsonl"], "file not found"),
        (["bench", "nope"], "unknown benchmark"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith("qwen-router: error:") and message in lines[-1]
    assert "Traceback" not in out.stderr


def test_classify_text_prints_decision() -> None:
    out = run("classify", "Write a Python function that merges two sorted lists")
    assert out.returncode == 0, out.stderr
    decision = json.loads(out.stdout)
    assert decision["route"] == "code" and {"confidence", "lang", "labels"} <= set(decision)


def test_classify_jsonl_in_order_with_ids(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "text": "What is the integral of x^2 from 0 to 3?"},
        {"id": "b", "text": "¿Cuál es la capital de Francia?"},
        {"id": 3, "text": "def add(a, b):\n    return a + b\nWhy does this fail?"},
    ]
    data = tmp_path / "in.jsonl"
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = run("classify", "--jsonl", str(data))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", 3]
    assert [r["route"] for r in rows] == ["math", "multilingual", "code"]
    assert rows[1]["lang"] == "es"
    for row in rows:
        assert {"route", "confidence", "lang", "labels"} <= set(row)


def test_classify_jsonl_reports_bad_lines_and_reads_stdin() -> None:
    out = run("classify", "--jsonl", "-", stdin='{"id": 1, "text": "hello"}\nnot json\n{"text": 5}\n')
    assert out.returncode == 1
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["id"] == 1 and "route" in rows[0]
    assert "invalid JSON" in rows[1]["error"] and "text" in rows[2]["error"]


def test_ask_streams_on_a_tiny_profile(tiny_profile_yaml: Path) -> None:
    out = run("ask", "Solve 2x + 3 = 7", "--profile", str(tiny_profile_yaml))
    assert out.returncode == 0, out.stderr
    assert "route=math" in out.stderr and "verification:" in out.stderr


def test_ask_json_keys_on_a_tiny_profile(tiny_profile_yaml: Path, tiny_qwen3: Path) -> None:
    out = run("ask", "--json", "hello", "--profile", str(tiny_profile_yaml), "--model", f"hf:{tiny_qwen3}")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    keys = {"answer", "route", "confidence", "model", "backend", "thinking", "verification", "usage", "timings", "trace"}
    assert keys <= set(result)
    assert result["model"] == f"hf:{tiny_qwen3}"


def test_models_lists_every_route(tiny_profile_yaml: Path) -> None:
    out = run("models", "--profile", str(tiny_profile_yaml), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["route"] for r in rows} == {"general", "code", "math", "vision", "multilingual"}
    assert all(r["available"] for r in rows)


@pytest.mark.slow
def test_flagship_example_on_the_bundled_model() -> None:
    """The README's main command: the real SmolLM2-135M-Instruct, offline."""
    out = run("ask", "--json", "--max-tokens", "64", "Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["route"] == "math"
    assert result["model"] in {"gguf:smollm2-135m-instruct", "llamacpp:smollm2-135m-instruct"}
    assert result["answer"].strip()
    assert result["verification"]["status"] in {"verified", "refuted", "unverifiable"}
    assert result["usage"]["completion_tokens"] > 0

"""The embedding stage: torch-free encoder, on-disk utterance cache, profile routes
that do not tax the built-in ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from qwen_router.classify import CascadeClassifier
from qwen_router.classify.embedding import UtteranceIndex
from qwen_router.types import Message

UNSURE = "Does there exist an implementation with better time complexity?"


def test_embedding_stage_runs_without_torch(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from qwen_router.classify import default_classifier\n"
        "from qwen_router.types import Message\n"
        f"d = default_classifier().classify([Message(role='user', content={UNSURE!r})])\n"
        "print(json.dumps([d.stage, 'torch' in sys.modules, 'transformers' in sys.modules]))\n"
    )
    env = {**os.environ, "QWEN_ROUTER_CACHE_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300, check=True)  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        "embedding",
        False,
        False,
    ]
    assert list((tmp_path / "utterances").glob("*.npy")), "utterance matrix not cached"


def test_cached_matrix_matches_a_fresh_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("QWEN_ROUTER_CACHE_DIR", str(tmp_path))
    utterances = {"a": ["Write a sorting function.", "Fix my SQL query."],
                  "b": ["Plan a trip to Rome.", "Tell me a joke."]}  # fmt: skip
    first = UtteranceIndex(utterances)
    second = UtteranceIndex(utterances)  # read from the cache file
    assert np.allclose(first._matrix, second._matrix, atol=2e-3)
    sims = second.similarities("Sort this list of numbers in Python", top_k=1)
    assert sims["a"] > sims["b"]
    monkeypatch.setenv("QWEN_ROUTER_CACHE_DIR", "")
    assert UtteranceIndex(utterances).similarities("hello", top_k=2).keys() == {
        "a",
        "b",
    }


def test_the_encoder_reads_other_languages(classifier: CascadeClassifier) -> None:
    utterances = {"code": ["Write a function that sorts a list."],
                  "cooking": ["How long should I boil an egg?"]}  # fmt: skip
    index = UtteranceIndex(utterances)
    sims = index.similarities("¿Cuánto tiempo hay que hervir un huevo?", top_k=1)
    assert sims["cooking"] > sims["code"]


LEGAL = {
    "legal": {
        "description": "Questions about contracts, leases, lawsuits and legal rights.",
        "utterances": [
            "Can my landlord keep my deposit for normal wear and tear?",
            "Is a verbal agreement legally binding?",
            "How do I contest a parking ticket in court?",
        ],
    }
}


def test_profile_routes_do_not_tax_sure_prompts() -> None:
    clf = CascadeClassifier(routes=LEGAL)
    sure = [
        "Write a Python function that merges two sorted lists.",
        "Find the derivative of $x^3 - 2x$ and solve the equation $3x + 1 = 10$.",
        "Translate 'thank you very much' into Japanese.",
        "¿Cuál es la capital de Perú?",
    ]
    for text in sure:
        decision, timings = clf.classify_with_timings(
            [Message(role="user", content=text)]
        )
        assert "embedding" not in timings, (text, decision)


def test_profile_route_trigger_and_no_evidence_reach_the_encoder() -> None:
    clf = CascadeClassifier(routes=LEGAL)
    assert "court" in clf.triggers["legal"]
    # rules are sure of code, but a legal word fires the trigger
    d, timings = clf.classify_with_timings(
        [
            Message(
                role="user", content="Write a Python script that lists my court dates."
            )
        ]
    )
    assert "embedding" in timings
    d, timings = clf.classify_with_timings(
        [Message(role="user", content="Is a handshake deal with my landlord binding?")]
    )
    assert "embedding" in timings and d.route == "legal", d

"""py3langid's model: loaded in one decompression call, it ranks exactly as with
py3langid's own loader; on an event loop, its first load runs in a worker thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from qwen_router.classify.langid_model import load_identifier

TEXTS = [
    "What is the capital of France?",
    "hello",
    "Was bedeutet Rhodophyta?",
    "¿Cómo estás hoy?",
    "Quelle est la différence entre un virus et une bactérie ?",
    "Как называется столица Австралии?",
    "ما هي عاصمة المغرب؟",
    "भारत की राजधानी क्या है?",
    "北京是中国的首都吗？",
    "東京タワーの高さはどれくらいですか？",
    "Ποια είναι η πρωτεύουσα της Ελλάδας;",
    "Merhaba, bugün nasılsın?",
    "def add(a, b):\n    return a + b",
    "",
]


@pytest.fixture(scope="module")
def identifiers() -> tuple[object, object]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    theirs = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return load_identifier(), theirs


@pytest.mark.parametrize("text", TEXTS)
def test_ranks_as_py3langids_own_loader(identifiers: tuple, text: str) -> None:
    ours, theirs = identifiers
    assert ours.rank(text) == theirs.rank(text)
    assert ours.classify(text) == theirs.classify(text)


def test_probabilities_are_normalised_as_asked() -> None:
    raw = load_identifier(norm_probs=False).classify("Quelle heure est-il ?")
    normed = load_identifier(norm_probs=True).classify("Quelle heure est-il ?")
    assert raw[0] == normed[0] == "fr"
    assert 0.0 < normed[1] <= 1.0 and raw[1] < 0.0  # a log-probability before


# A fresh interpreter (the model not loaded yet) that records on which thread the model
# is loaded, while a Router answers on an event loop.
LOOP_PROBE = """
import asyncio, json, sys, threading
from pathlib import Path
import qwen_router.classify.language as language
from qwen_router.bench.server import overhead_profile
from qwen_router.core import Router

on_loop_thread = []
real_load = language.load_identifier

def observed_load(**options):
    on_loop_thread.append(threading.current_thread() is threading.main_thread())
    return real_load(**options)

language.load_identifier = observed_load
router = Router(str(overhead_profile(Path(sys.argv[1]))))

async def main():
    decisive = await router.ainvoke("What is the capital of France?")
    loads_after_decisive = list(on_loop_thread)
    ambiguous = await router.ainvoke("hello")
    again = await router.ainvoke("hello")
    return decisive, loads_after_decisive, ambiguous, again

decisive, loads_after_decisive, ambiguous, again = asyncio.run(main())
print(json.dumps({
    "loads_after_decisive": loads_after_decisive,
    "loads": on_loop_thread,
    "ambiguous": ambiguous.decision.model_dump(),
    "again": again.decision.model_dump(),
    "sync": router.classify("hello").model_dump(),
}))
"""


def test_the_first_load_on_an_event_loop_leaves_the_loop(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOOP_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # a text whose words tell its language needs no model, and none is loaded
    assert report["loads_after_decisive"] == []
    # "hello" needs it: loaded once, in a worker thread, not on the loop's (main)
    # thread; before, it loaded on the loop and stalled it for 0.75-0.85 s
    assert report["loads"] == [False]
    # and the decision is the one the sync path reaches, the first time and after
    assert report["ambiguous"] == report["again"] == report["sync"]

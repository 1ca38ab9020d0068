"""Where the graph's nodes run in async runs, and the template cache. No timings.

The cheap routing nodes run on the event loop; a classifier without an async path
(it may run an embedding model) and image decoding go to a worker thread; a
classifier with ``aclassify`` is awaited on the loop. The scripted FakeBackend is used
for control flow only.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from qwen_router import Router
from qwen_router.backends.fake import FakeBackend
from qwen_router.classify import RuleClassifier
from qwen_router.prompts import load_template
from qwen_router.types import Message, RouteDecision

ROUTES = ("general", "code", "math", "vision", "multilingual")


def _profile(path: Path) -> Path:
    routes = "\n".join(f"  {r}:\n    model: fake:scripted" for r in ROUTES)
    path.write_text(f"name: t\nbackends:\n  fake: {{}}\nroutes:\n{routes}\n")
    return path


class _SyncClassifier:
    """Records the thread it ran on."""

    def __init__(self) -> None:
        self.inner = RuleClassifier()
        self.threads: list[int] = []

    def classify(self, messages: Sequence[Message]) -> RouteDecision:
        self.threads.append(threading.get_ident())
        return self.inner.classify(messages)


class _AsyncClassifier(_SyncClassifier):
    async def aclassify(self, messages: Sequence[Message]) -> RouteDecision:
        self.threads.append(threading.get_ident())
        return self.inner.classify(messages)


def _loop_thread_and_result(router: Router) -> tuple[int, str]:
    async def run() -> tuple[int, str]:
        result = await router.ainvoke("hello there")
        return threading.get_ident(), result.answer

    return asyncio.run(run())


def test_sync_classifier_runs_off_the_loop(tmp_path: Path) -> None:
    classifier = _SyncClassifier()
    backend = FakeBackend(reply="ok")
    with Router(
        _profile(tmp_path / "p.yaml"), classifier=classifier, backends={"fake": backend}
    ) as router:
        loop_thread, answer = _loop_thread_and_result(router)
        assert answer == "ok"
        assert classifier.threads and classifier.threads[-1] != loop_thread
        # the sync path calls it in the caller's thread
        router.invoke("hello again")
        assert classifier.threads[-1] == threading.get_ident()


def test_async_classifier_is_awaited_on_the_loop(tmp_path: Path) -> None:
    classifier = _AsyncClassifier()
    with Router(
        _profile(tmp_path / "p.yaml"),
        classifier=classifier,
        backends={"fake": FakeBackend(reply="ok")},
    ) as router:
        loop_thread, answer = _loop_thread_and_result(router)
        assert answer == "ok"
        assert classifier.threads == [loop_thread]
        result = router.invoke("hi")
        assert [e.node for e in result.trace][:2] == ["guard", "classify"]


def test_async_run_streams_tokens_and_traces_every_node(tmp_path: Path) -> None:
    with Router(
        _profile(tmp_path / "p.yaml"),
        backends={"fake": FakeBackend(reply="one two three")},
    ) as router:

        async def run() -> list[object]:
            return [e async for e in router.astream("hello there")]

        events = asyncio.run(run())
    tokens = "".join(e.text for e in events if e.type == "token")  # type: ignore[attr-defined]
    nodes = [e.node for e in events if e.type == "node"]  # type: ignore[attr-defined]
    assert tokens == "one two three"
    assert nodes == ["guard", "classify", "select", "render", "generate", "respond"]


def test_edited_user_template_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "general.yaml"
    path.write_text("system: first version\n", encoding="utf-8")
    assert load_template("general", [tmp_path]).system == "first version"
    assert load_template("general", [tmp_path]) is load_template("general", [tmp_path])
    path.write_text("system: the second, longer version\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_template("general", [tmp_path]).system == "the second, longer version"
    path.unlink()
    assert load_template("general", [tmp_path]).source.endswith("(shipped)")

"""The classifier registry: by code, by profile name, and by entry point."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from qwen_router.classify import (
    CascadeClassifier,
    RuleClassifier,
    classifier_names,
    default_classifier,
    register_classifier,
)
from qwen_router.classify.registry import refresh_entry_points, unregister_classifier
from qwen_router.errors import ConfigError
from qwen_router.profiles import load_profile
from qwen_router.types import Message, RouteDecision


class KeywordClassifier:
    """A complete classifier from outside the cascade: 'legal' on a keyword."""

    def __init__(self, profile) -> None:
        self.profile = profile

    def classify(self, messages):
        text = messages[-1].text.lower()
        route = "legal" if "contract" in text else "general"
        return RouteDecision(
            route=route, confidence=0.9, labels=[route], stage="keyword"
        )


def _profile_named(name: str):
    base = load_profile("local")
    section = base.classifier.model_copy(update={"name": name})
    return base.model_copy(update={"classifier": section})


def test_builtin_classifiers_are_registered() -> None:
    assert {"cascade", "rules"} <= set(classifier_names())
    assert isinstance(default_classifier(), CascadeClassifier)
    assert isinstance(default_classifier(_profile_named("rules")), RuleClassifier)


def test_register_by_code_and_pick_by_profile() -> None:
    register_classifier("keyword-test", KeywordClassifier, replace=True)
    clf = default_classifier(_profile_named("keyword-test"))
    assert isinstance(clf, KeywordClassifier)
    d = clf.classify([Message(role="user", content="Review this contract clause")])
    assert d.route == "legal"
    with pytest.raises(ConfigError, match="already registered"):
        register_classifier("keyword-test", lambda p: None)


def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown classifier 'nope'"):
        default_classifier(_profile_named("nope"))


def test_entry_point_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real installed distribution (a .dist-info on sys.path) with an entry point
    in the qwen_router.classifiers group."""
    (tmp_path / "qr_plugin_demo.py").write_text(
        textwrap.dedent("""
        from qwen_router.types import RouteDecision

        class Always:
            def __init__(self, profile):
                pass

            def classify(self, messages):
                return RouteDecision(route="code", confidence=1.0, labels=["code"])

        def factory(profile):
            return Always(profile)
    """)
    )
    info = tmp_path / "qr_plugin_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: qr-plugin-demo\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[qwen_router.classifiers]\nplugin-demo = qr_plugin_demo:factory\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        refresh_entry_points()
        assert "plugin-demo" in classifier_names()
        clf = default_classifier(_profile_named("plugin-demo"))
        assert clf.classify([Message(role="user", content="hi")]).route == "code"
    finally:
        unregister_classifier("plugin-demo")
        sys.modules.pop("qr_plugin_demo", None)

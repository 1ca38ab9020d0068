"""Shared fixtures: one real cascade (py3langid + multilingual-e5-small) per session."""

from __future__ import annotations

import pytest
from qwen_router.classify import CascadeClassifier, default_classifier


@pytest.fixture(scope="session")
def classifier() -> CascadeClassifier:
    clf = default_classifier()
    assert isinstance(clf, CascadeClassifier)
    return clf

"""Task classifiers: the protocol and the shipped stages."""

from .base import Classifier
from .rules import RuleClassifier

__all__ = ["Classifier", "RuleClassifier", "default_classifier"]


def default_classifier(profile: object | None = None) -> Classifier:
    """The classifier the router uses when none is given."""
    return RuleClassifier()

"""First stage: structure and rule signals (no models, microseconds).

image parts -> vision; non-Latin script or non-English stop words -> multilingual;
code markers (fences, signatures, tracebacks, keywords) -> code; math markers
(LaTeX, equations, math verbs) -> math. Every signal that fired is reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from qwen_router.types import Message, RouteDecision

__all__ = ["RuleClassifier"]

_CODE_PATTERNS: list[tuple[str, re.Pattern[str], float]] = [
    ("code fence", re.compile(r"```"), 3.0),
    ("function signature", re.compile(r"\bdef \w+\s*\(|\bfunction \w+\s*\(|\bfn \w+\s*\("), 3.0),
    ("traceback", re.compile(r"Traceback \(most recent call last\)|\bat [\w.$]+\([\w.]+:\d+\)"), 3.0),
    ("class/import", re.compile(r"^\s*(import \w+|from \w+ import|class \w+[:(]|#include\s*<)", re.M), 2.5),
    ("code keyword", re.compile(
        r"\b(python|javascript|typescript|java|c\+\+|rust|golang|sql|regex|bash|html|css|"
        r"function|algorithm|compile|debug|bug|api|json|array|linked list|recursion|"
        r"implement|refactor|unit test|script|program|code)\b", re.I), 1.0),
]  # fmt: skip

_MATH_PATTERNS: list[tuple[str, re.Pattern[str], float]] = [
    ("latex", re.compile(r"\\(frac|sqrt|int|sum|lim|cdot|pi|theta|infty|le|ge)\b|\$[^$]+\$"), 3.0),
    ("equation", re.compile(r"\b[a-z]\s*\^\s*\d|\d\s*[a-z]\s*[+\-=]|[a-z]\(x\)\s*=|=\s*-?\d"), 2.0),
    ("math verb", re.compile(
        r"\b(derivative|integral|integrate|differentiate|solve|equation|simplify|factor|"
        r"probability|polynomial|matrix|prime|sum of|how many|how much|remainder|"
        r"calculate|compute|evaluate|percent|average|ratio)\b", re.I), 1.5),
    ("arithmetic", re.compile(r"\d+\s*[-+*/×÷]\s*\d+"), 1.0),
]  # fmt: skip

_NON_EN_WORDS = re.compile(
    r"\b(el|la|los|las|que|por|una|der|die|das|und|ist|nicht|le|les|est|une|des|"
    r"qui|pour|cette|il|che|non|sono|um|uma|não|você|ve|bir|için|và|của|là|những)\b",
    re.I,
)


def _script_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    non_latin = sum(1 for c in letters if "LATIN" not in unicodedata.name(c, "LATIN"))
    return non_latin / len(letters)


def _score(text: str, patterns: list[tuple[str, re.Pattern[str], float]]) -> tuple[float, list[str]]:
    total, hits = 0.0, []
    for name, pattern, weight in patterns:
        if pattern.search(text):
            total += weight
            hits.append(name)
    return total, hits


class RuleClassifier:
    """Cheap rules. Confidence grows with the margin between the top two scores."""

    stage = "rules"

    def classify(self, messages: Sequence[Message]) -> RouteDecision:
        user_msgs = [m for m in messages if m.role == "user"]
        text = user_msgs[-1].text if user_msgs else ""
        text = text[:20000]
        has_images = any(m.images for m in messages)
        code, code_hits = _score(text, _CODE_PATTERNS)
        math, math_hits = _score(text, _MATH_PATTERNS)
        share = _script_share(text)
        non_en_words = len(_NON_EN_WORDS.findall(text))
        multilingual = 4.0 if share > 0.3 else (2.0 if non_en_words >= 3 else 0.0)
        scores = {
            "general": 1.0,
            "code": code,
            "math": math,
            "multilingual": multilingual,
            "vision": 10.0 if has_images else 0.0,
        }
        signals = [f"code: {h}" for h in code_hits] + [f"math: {h}" for h in math_hits]
        if multilingual:
            signals.append(f"multilingual: non-Latin share {share:.2f}, foreign words {non_en_words}")
        if has_images:
            signals.append("vision: image part present")
        labels = [k for k in ("vision", "code", "math", "multilingual") if scores[k] >= 2.0]
        domain = max(("code", "math"), key=lambda k: scores[k])
        if has_images:
            route = "vision"
        elif multilingual:
            route = "multilingual"
        elif scores[domain] >= 2.0:
            route = domain
        else:
            route = "general"
        ordered = sorted(scores.values(), reverse=True)
        margin = ordered[0] - ordered[1]
        confidence = min(0.99, 0.5 + margin / 8)
        total = sum(scores.values()) or 1.0
        return RouteDecision(
            route=route,
            confidence=round(confidence, 3),
            scores={k: round(v / total, 4) for k, v in scores.items()},
            labels=labels or [route],
            lang=None if multilingual else "en",
            signals=signals or ["no rule fired: general"],
            stage=self.stage,
        )

"""The classifier cascade: structure and rules, then embeddings where rules are unsure.

Stage ``rules`` (no models): image parts -> ``vision``; script + py3langid ->
language, non-English -> ``multilingual``; translation / language-learning requests
-> ``multilingual``; code and math markers -> domain evidence, turned into
probabilities over general / code / math. When the best of those is below
``rules_accept`` (or the profile defines its own routes), stage ``embedding`` scores
the text against example utterances of every route, with the rule evidence as a
prior. Non-English text skips the English encoder: its domain labels (``math`` for
a word problem) come from the language-agnostic rules. When ``judge_model`` is set
and the confidence so far is below ``judge_below``, stage ``llm`` asks a small LLM
(:mod:`qwen_router.classify.judge`) and folds its vote into the probabilities; a
judge that fails or answers badly leaves the decision as it was, with a signal.

Confidence is the stage's probability after per-stage Platt scaling; below
``min_confidence`` the route falls back to ``general`` with a signal saying why.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from qwen_router.types import Message, RouteDecision

from .config import CascadeConfig
from .difficulty import estimate_difficulty
from .language import LangResult, detect_language
from .rules import Evidence, code_math_evidence, evidence_probs, language_request
from .text import Extracted, extract, prose_of

__all__ = ["CascadeClassifier", "builtin_utterances"]

_DOMAINS = ("general", "code", "math")
_READABLE = re.compile(r"[\w\s.,;:!?'\"()\[\]{}<>=+\-*/\\$%&#@^|~`]")


@functools.lru_cache(maxsize=1)
def builtin_utterances() -> dict[str, tuple[str, ...]]:
    """The shipped example utterances per built-in route (``utterances.yaml``)."""
    res = importlib.resources.files("qwen_router.classify") / "utterances.yaml"
    data = yaml.safe_load(res.read_text(encoding="utf-8"))
    return {route: tuple(str(u) for u in items) for route, items in data.items()}


def _softmax(logits: Mapping[str, float]) -> dict[str, float]:
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    z = sum(exp.values())
    return {k: v / z for k, v in exp.items()}


@dataclass
class _Pending:
    """Stage one's findings, waiting for the embedding stage (or not)."""

    ex: Extracted
    lang: LangResult
    evidence: Evidence
    request: str | None
    probs: dict[str, float]
    non_english: bool
    needs_embedding: bool
    timings: dict[str, float]
    embedded: tuple[dict[str, float], str] | None = None
    judged: tuple[dict[str, float] | None, str] | None = None


class CascadeClassifier:
    """Rules, language ID and an embedding kNN, each stage only when needed.

    ``routes`` maps route names to objects (or mappings) with ``description`` and
    ``utterances``; routes beyond the built-in ones become embedding classes, and
    utterances given for a built-in route extend the shipped ones.
    ``judge_options`` are the judge backend's options (the profile's
    ``backends[BACKEND]``); ``judge`` injects a ready :class:`LLMJudge`.

    Raises:
        ConfigError: ``judge_model`` is not a valid ``BACKEND:MODEL`` spec.
    """

    def __init__(
        self,
        config: CascadeConfig | None = None,
        *,
        routes: Mapping[str, Any] | None = None,
        judge_options: Mapping[str, Any] | None = None,
        judge: Any = None,
    ) -> None:
        from .judge import BUILTIN_DESCRIPTIONS, LLMJudge

        self.config = config or CascadeConfig()
        merged = {k: list(v) for k, v in builtin_utterances().items()}
        descriptions = dict(BUILTIN_DESCRIPTIONS)
        self.user_routes: list[str] = []
        for name, spec in (routes or {}).items():
            get = (
                spec.get
                if isinstance(spec, Mapping)
                else functools.partial(getattr, spec)
            )
            extra = [str(u) for u in (get("utterances", None) or [])]
            description = str(get("description", "") or "")
            if description:
                descriptions[name] = description
            if description and name not in merged:
                extra.append(description)
            if not extra:
                continue
            if name not in merged:
                self.user_routes.append(name)
            merged.setdefault(name, []).extend(extra)
        self._utterances = tuple((r, tuple(us)) for r, us in merged.items())
        cfg = self.config
        if judge is None and cfg.judge_model:
            judge = LLMJudge(
                cfg.judge_model, judge_options,
                {r: descriptions.get(r, "") for r in merged},
                max_tokens=cfg.judge_max_tokens, timeout_s=cfg.judge_timeout_s,
            )  # fmt: skip
        self.judge = judge

    # -- public -------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load py3langid and (if enabled) the encoder and utterance index now.

        Raises:
            ConfigError: the embedding stage is on but its model is not installed.
        """
        detect_language("Texte de mise en route du modèle de langue.")
        if self.config.embedding:
            from .embedding import cached_index

            cached_index(self._utterances, self.config.embedding_model)

    def classify(self, messages: Sequence[Message]) -> RouteDecision:
        """Classify the last user turn; see the module docstring.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its model is not installed.
        """
        return self.classify_with_timings(messages)[0]

    def classify_with_timings(
        self, messages: Sequence[Message]
    ) -> tuple[RouteDecision, dict[str, float]]:
        """The decision and milliseconds spent in each stage that ran.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its model is not installed.
        """
        pending = self._rules(messages)
        if isinstance(pending, tuple):
            return pending
        if pending.needs_embedding:
            t1 = time.perf_counter()
            pending.embedded = self._embedding(pending.ex.text, pending.probs)
            pending.timings["embedding"] = (time.perf_counter() - t1) * 1000
        if self._needs_judge(pending):
            t2 = time.perf_counter()
            pending.judged = self._judge_stage(pending)
            pending.timings["llm"] = (time.perf_counter() - t2) * 1000
        return self._finish(pending), pending.timings

    async def aclassify(self, messages: Sequence[Message]) -> RouteDecision:
        """:meth:`classify` for an event loop: the rules run inline (well under a
        millisecond); only the embedding model and the LLM judge, when needed, leave
        the loop.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its model is not installed.
        """
        pending = self._rules(messages)
        if isinstance(pending, tuple):
            return pending[0]
        if pending.needs_embedding:
            pending.embedded = await asyncio.to_thread(
                self._embedding, pending.ex.text, pending.probs
            )
        if self._needs_judge(pending):
            pending.judged = await asyncio.to_thread(self._judge_stage, pending)
        return self._finish(pending)

    def _rules(
        self, messages: Sequence[Message]
    ) -> _Pending | tuple[RouteDecision, dict[str, float]]:
        """Stage one; a finished decision when structure alone decides."""
        t0 = time.perf_counter()
        ex = extract(messages, max_chars=self.config.max_chars)
        timings: dict[str, float] = {}
        early = self._structural(ex)
        if early is not None:
            timings["rules"] = (time.perf_counter() - t0) * 1000
            return early, timings
        cfg = self.config
        lang = detect_language(
            prose_of(ex.text), english_words_min=cfg.english_words_min
        )
        evidence = code_math_evidence(ex.text)
        probs = evidence_probs(
            evidence.scores(), baseline=cfg.evidence_baseline, scale=cfg.evidence_scale
        )
        timings["rules"] = (time.perf_counter() - t0) * 1000
        non_english = (
            lang.lang != "en" and 1 - lang.p_english >= cfg.lang_min_confidence
        )
        best = max(probs, key=probs.__getitem__)
        needs_embedding = bool(
            cfg.embedding
            and not non_english
            and (probs[best] < cfg.rules_accept or self.user_routes)
        )
        return _Pending(
            ex=ex,
            lang=lang,
            evidence=evidence,
            request=language_request(ex.text),
            probs=probs,
            non_english=non_english,
            needs_embedding=needs_embedding,
            timings=timings,
        )

    def _finish(self, pending: _Pending) -> RouteDecision:
        probs, stage = pending.probs, "rules"
        signals = list(pending.evidence.reasons)
        if pending.embedded is not None:
            probs, note = pending.embedded
            stage = "embedding"
            signals.append(note)
        if pending.judged is not None:
            judged, note = pending.judged
            signals.append(note)
            if judged is not None:
                probs, stage = judged, "llm"
        best = max(probs, key=probs.__getitem__)
        return self._assemble(
            pending.ex, pending.lang, pending.evidence, pending.request, probs, best,
            stage, pending.non_english, signals,
        )  # fmt: skip

    # -- stages -------------------------------------------------------------------

    def _needs_judge(self, pending: _Pending) -> bool:
        """English text that no structure or language request decided, and a
        calibrated confidence so far below ``judge_below``."""
        if self.judge is None or pending.non_english or pending.request:
            return False
        if pending.ex.n_images:
            return False
        stage, probs = "rules", pending.probs
        if pending.embedded is not None:
            stage, probs = "embedding", pending.embedded[0]
        return self._calibrate(stage, max(probs.values())) < self.config.judge_below

    def _judge_stage(self, pending: _Pending) -> tuple[dict[str, float] | None, str]:
        from .judge import combine_vote

        probs = pending.embedded[0] if pending.embedded else pending.probs
        verdict, note = self.judge.judge(pending.ex.text)
        if verdict is None:
            return None, f"{note} (kept the earlier decision)"
        route, conf = verdict
        mixed = combine_vote(probs, route, conf, self.config.judge_weight)
        return mixed, f"judge: {route} ({conf:.2f})"

    def _structural(self, ex: Extracted) -> RouteDecision | None:
        """Decisions that need no text analysis: empty or unreadable text."""
        text = ex.text.strip()
        capped = [
            f"text capped at {len(ex.text)} of {ex.original_chars} chars"
        ] * ex.truncated
        if not text:
            if ex.n_images:
                return RouteDecision(
                    route="vision", confidence=0.99, scores={"vision": 1.0},
                    labels=["vision"], lang=None, stage="rules", difficulty=0.2,
                    signals=[f"vision: {ex.n_images} image part(s), no text"],
                )  # fmt: skip
            return self._fallback("empty text: nothing to classify", ex)
        if not any(ch.isalnum() for ch in text[:4000]):
            return self._fallback("no letters or digits to classify (only symbols)", ex)
        readable = len(_READABLE.findall(text[:4000])) / min(len(text), 4000)
        letters = sum(ch.isalpha() for ch in text[:4000])
        if ex.printable_share < 0.8 or (
            readable < 0.5 and letters < 0.3 * min(len(text), 4000)
        ):
            return self._fallback(
                f"unreadable text (printable {ex.printable_share:.0%}, "
                f"readable {readable:.0%}): looks like binary data", ex, extra=capped
            )  # fmt: skip
        return None

    def _embedding(
        self, text: str, rule_probs: Mapping[str, float]
    ) -> tuple[dict[str, float], str]:
        from .embedding import cached_index

        cfg = self.config
        index = cached_index(self._utterances, cfg.embedding_model)
        sims = index.similarities(text, top_k=cfg.embedding_top_k)
        floor = rule_probs["general"]
        logits = {
            r: s / cfg.embedding_temperature
            + cfg.rule_weight * math.log(max(rule_probs.get(r, floor), 1e-6))
            for r, s in sims.items()
        }
        probs = _softmax(logits)
        ranked = sorted(sims, key=sims.__getitem__, reverse=True)
        note = "embedding: nearest " + ", ".join(
            f"{r} {sims[r]:.2f}" for r in ranked[:3]
        )
        return probs, note

    # -- assembly -----------------------------------------------------------------

    def _calibrate(self, stage: str, p: float) -> float:
        a, b = self.config.calibration.get(stage, (1.0, 0.0))
        p = min(max(p, 1e-6), 1 - 1e-6)
        z = a * math.log(p / (1 - p)) + b
        return round(1 / (1 + math.exp(-z)), 4)

    def _assemble(
        self,
        ex: Extracted,
        lang: LangResult,
        evidence: Evidence,
        request: str | None,
        probs: dict[str, float],
        best: str,
        stage: str,
        non_english: bool,
        signals: list[str],
    ) -> RouteDecision:
        cfg = self.config
        labels: list[str] = []
        if ex.n_images:
            labels.append("vision")
            signals.append(f"vision: {ex.n_images} image part(s)")
        if non_english:
            signals.append(f"multilingual: language {lang.lang} ({lang.reason})")
        if request:
            signals.append(f"multilingual: language request {request[:60]!r}")
        multilingual = non_english or bool(request) or best == "multilingual"
        if multilingual:
            labels.append("multilingual")
        if best not in ("general", "multilingual"):
            labels.append(best)
        elif non_english or ex.n_images:
            labels += [
                d
                for d in ("math", "code")
                if evidence.scores()[d] >= cfg.math_label_min
            ]
        confidence = self._calibrate(stage, probs[best])
        if ex.n_images:
            route, confidence = "vision", 0.99
        elif non_english:
            route = "multilingual"
            confidence = self._calibrate("language", 1 - lang.p_english)
        elif request:
            route, confidence = "multilingual", max(confidence, 0.9)
        else:
            route = best
        scores = {k: round(v, 4) for k, v in probs.items()}
        scores["multilingual"] = round(
            max(scores.get("multilingual", 0.0), 1 - lang.p_english), 4
        )
        scores["vision"] = 1.0 if ex.n_images else 0.0
        if ex.truncated:
            signals.append(
                f"text capped at {len(ex.text)} of {ex.original_chars} chars"
            )
        if confidence < cfg.min_confidence and route != "general":
            signals.append(
                f"fell back to general: confidence {confidence:.2f} for {route} "
                f"is below min_confidence {cfg.min_confidence:.2f}"
            )
            route = "general"
        domain = next((x for x in labels if x in _DOMAINS), best)
        return RouteDecision(
            route=route,
            confidence=confidence,
            scores=scores,
            labels=labels or [route],
            lang=lang.lang,
            signals=signals or [f"no rule fired: {route}"],
            stage=stage,
            difficulty=estimate_difficulty(ex.text, evidence, domain),
        )

    def _fallback(
        self, reason: str, ex: Extracted, *, extra: Sequence[str] = ()
    ) -> RouteDecision:
        return RouteDecision(
            route="general",
            confidence=0.0,
            scores={"general": 1.0},
            labels=["general"],
            lang=None,
            signals=[*extra, f"fell back to general: {reason}"],
            stage="rules",
            difficulty=0.0,
        )

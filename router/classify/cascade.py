"""The classifier cascade: structure and rules, then embeddings where rules are unsure.

Stage ``rules`` (no models): image parts -> ``vision``; script + language evidence ->
language, non-English -> ``multilingual``; translation / language-learning requests
-> ``multilingual``; code and math markers -> domain evidence, turned into
probabilities over general / code / math. When the best of those is below
``rules_accept`` (or it is ``general`` only because no rule fired, and the profile
has routes of its own), or a word that only a profile route's utterances use
appears, stage ``embedding`` scores the text against example utterances of every route
(multilingual-e5-small), with the rule evidence as a prior: profile routes never
slow down prompts the rules are sure of. When ``judge_model`` is set and the
confidence so far is below ``judge_below``, stage ``llm`` asks a small LLM
(:mod:`qwen_router.classify.judge`) and folds its vote in.

The conversation counts (:mod:`qwen_router.classify.conversation`): a tool loop
stays on the previous route; a short follow-up inherits it unless the message
clearly says otherwise (an image, another language, a language request, or rules
sure of another domain); otherwise the previous route is a prior. A session id
(:mod:`qwen_router.classify.session`) stands in for the history a client did not send.

Confidence is the stage's probability after per-stage Platt scaling (fitted by
cross-validation, ``qwen-router bench route --cv 5``); below ``min_confidence`` the
route falls back to ``general`` with a signal saying why.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from qwen_router.types import Message, RouteDecision
from qwen_router.yaml_text import load_yaml

from .config import CascadeConfig
from .conversation import Context, read_context
from .decide import Explained, Pending, assemble, calibrate, inherit, structural
from .language import LanguageModelNotLoaded, detect_language, model_load_refused
from .rules import code_math_evidence, evidence_probs, language_request, scan_view
from .session import SessionStore
from .text import extract, prose_of

__all__ = ["CascadeClassifier", "Explained", "builtin_utterances"]

_WORDS = re.compile(r"[^\W\d_]{4,40}")
# Texts longer than this are classified off the event loop.
_INLINE_CHARS = 1500


@functools.lru_cache(maxsize=1)
def builtin_utterances() -> dict[str, tuple[str, ...]]:
    """The shipped example utterances per built-in route (``utterances.yaml``)."""
    res = importlib.resources.files("qwen_router.classify") / "utterances.yaml"
    data = load_yaml(res.read_text(encoding="utf-8"))
    return {route: tuple(str(u) for u in items) for route, items in data.items()}


def _softmax(logits: Mapping[str, float]) -> dict[str, float]:
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    z = sum(exp.values())
    return {k: v / z for k, v in exp.items()}


class CascadeClassifier:
    """Rules, language ID and an embedding kNN, each stage only when needed.

    ``routes`` maps route names to objects (or mappings) with ``description`` and
    ``utterances``; routes beyond the built-in ones become embedding classes, and
    utterances given for a built-in route extend the shipped ones.
    ``judge_options`` are the judge backend's options (the profile's
    ``backends[BACKEND]``); ``judge`` injects a ready :class:`LLMJudge`.
    ``sessions`` injects a :class:`SessionStore` (default: one per classifier, sized
    by ``session_ttl_s`` / ``session_max``).

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
        sessions: SessionStore | None = None,
    ) -> None:
        from .judge import BUILTIN_DESCRIPTIONS, LLMJudge

        self.config = cfg = config or CascadeConfig()
        merged = {k: list(v) for k, v in builtin_utterances().items()}
        builtin_vocab = {
            w.lower() for us in merged.values() for u in us for w in _WORDS.findall(u)
        }
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
        # Words only a profile route's examples use: seeing one sends the text to
        # the embedding stage even when the rules are sure of a built-in route.
        self.triggers: dict[str, frozenset[str]] = {
            r: frozenset(w.lower() for u in merged[r] for w in _WORDS.findall(u))
            - builtin_vocab
            for r in self.user_routes
        }
        if judge is None and cfg.judge_model:
            judge = LLMJudge(
                cfg.judge_model, judge_options,
                {r: descriptions.get(r, "") for r in merged},
                max_tokens=cfg.judge_max_tokens, timeout_s=cfg.judge_timeout_s,
            )  # fmt: skip
        self.judge = judge
        self.sessions = sessions or SessionStore(
            ttl_s=cfg.session_ttl_s, max_sessions=cfg.session_max
        )

    # -- public -------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the language model and (if enabled) the encoder and utterance index.

        Raises:
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        detect_language("Texte de mise en route du modèle de langue.")
        if self.config.embedding:
            self._index().similarities("warm up the encoder", top_k=1)

    def classify(
        self, messages: Sequence[Message], *, session_id: str | None = None
    ) -> RouteDecision:
        """Classify the conversation's newest user turn; see the module docstring.

        ``session_id``: a client session whose last route is the prior when the
        conversation itself carries none; the new route is recorded for it.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        return self.explain(messages, session_id=session_id).decision

    def classify_with_timings(
        self, messages: Sequence[Message], *, session_id: str | None = None
    ) -> tuple[RouteDecision, dict[str, float]]:
        """The decision and milliseconds spent in each stage that ran.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        out = self.explain(messages, session_id=session_id)
        return out.decision, out.timings

    def explain(
        self, messages: Sequence[Message], *, session_id: str | None = None
    ) -> Explained:
        """The decision, its raw probability and calibration key, and timings.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        ctx, pending, prior = self._plan(messages, session_id)
        for p in (pending, prior):
            if isinstance(p, Pending):
                self._run_models_sync(p)
        return self._conclude(ctx, pending, prior, session_id)

    async def aclassify(
        self, messages: Sequence[Message], *, session_id: str | None = None
    ) -> RouteDecision:
        """:meth:`classify` for an event loop: the rules run inline on short texts
        (well under a millisecond) and in a worker thread on long ones (bounded
        scans, but tens of milliseconds on a busy CPU), and on the first text that
        needs py3langid's model before it is loaded; the encoder and the LLM judge,
        when needed, run in a worker thread.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        size = sum(len(m.text) for m in messages[-4:])
        if size > _INLINE_CHARS:  # long text: even bounded scans leave the loop
            ctx, pending, prior = await asyncio.to_thread(self._plan, messages, session_id)
        else:
            try:
                with model_load_refused():
                    ctx, pending, prior = self._plan(messages, session_id)
            except LanguageModelNotLoaded:  # the first text that needs it: 0.75 s
                ctx, pending, prior = await asyncio.to_thread(
                    self._plan, messages, session_id
                )
        for p in (pending, prior):
            if isinstance(p, Pending) and (p.needs_embedding or self.judge is not None):
                await asyncio.to_thread(self._run_models_sync, p)
        return self._conclude(ctx, pending, prior, session_id).decision

    def analyse(self, messages: Sequence[Message]) -> Pending | Explained:
        """Every stage's raw output for ``messages`` taken as one request (no
        conversation, no session), ready for :meth:`decide`; a finished
        :class:`Explained` when structure alone decides. For tuning and
        cross-validation.

        Raises:
            InputError: the message list is empty or malformed.
            ConfigError: the embedding stage is on but its encoder is not installed.
        """
        pending = self._rules(messages)
        if isinstance(pending, Pending):
            self._run_models_sync(pending)
        return pending

    # -- plan: rules for the new turn (and for the earlier turn it leans on) --------

    def _plan(
        self, messages: Sequence[Message], session_id: str | None
    ) -> tuple[Context, Pending | Explained, Pending | Explained | None]:
        pending = self._rules(messages)
        remembered = self.sessions.get(session_id) if session_id else None
        ctx = read_context(messages, remembered)
        prior: Pending | Explained | None = None
        if ctx.source == "content" and ctx.previous_text:
            prior = self._rules([Message(role="user", content=ctx.previous_text)])
        return ctx, pending, prior

    def _rules(self, messages: Sequence[Message]) -> Pending | Explained:
        """Stage one; a finished decision when structure alone decides."""
        t0 = time.perf_counter()
        cfg = self.config
        ex = extract(messages, max_chars=cfg.max_chars)
        early = structural(ex)
        if early is not None:
            ms = (time.perf_counter() - t0) * 1000
            return Explained(early, early.confidence, "structure", {"rules": ms})
        lang = detect_language(
            prose_of(ex.text), english_words_min=cfg.english_words_min
        )
        evidence = code_math_evidence(ex.text)
        probs = evidence_probs(
            evidence.scores(),
            baseline=cfg.evidence_baseline + evidence.general,
            scale=cfg.evidence_scale,
        )
        non_english = (
            lang.lang != "en" and 1 - lang.p_english >= cfg.lang_min_confidence
        )
        best = max(probs, key=probs.__getitem__)
        triggered = self._triggered(ex.text) if self.user_routes else []
        # With profile routes, "general because nothing fired" is not sure: those
        # routes are usually general-domain topics the rules know nothing about.
        request = language_request(ex.text)
        unsure = not request and (
            probs[best] < cfg.rules_accept
            or bool(self.user_routes and best == "general" and not evidence.reasons)
        )
        needs_embedding = bool(
            cfg.embedding and not non_english and (unsure or triggered)
        )
        timings = {"rules": (time.perf_counter() - t0) * 1000}
        return Pending(
            ex=ex, lang=lang, evidence=evidence, request=request,
            probs=probs, non_english=non_english, needs_embedding=needs_embedding,
            timings=timings, triggered=triggered,
        )  # fmt: skip

    def _triggered(self, text: str) -> list[str]:
        words = {w.lower() for w in _WORDS.findall(scan_view(text))}
        return [r for r, ws in self.triggers.items() if ws & words]

    # -- models: embedding and judge (worker thread under aclassify) ---------------

    def _index(self) -> Any:
        from .embedding import cached_index

        return cached_index(self._utterances, self.config.embedding_model)

    def _run_models_sync(self, pending: Pending) -> None:
        if pending.needs_embedding:
            t1 = time.perf_counter()
            pending.sims = self._index().similarities(
                pending.ex.text, top_k=self.config.embedding_top_k
            )
            pending.timings["embedding"] = (time.perf_counter() - t1) * 1000
        if self._needs_judge(pending):
            t2 = time.perf_counter()
            pending.judged = self._judge_stage(pending)
            pending.timings["llm"] = (time.perf_counter() - t2) * 1000

    def mix_embedding(
        self, sims: Mapping[str, float], rule_probs: Mapping[str, float],
        config: CascadeConfig | None = None,
    ) -> tuple[dict[str, float], str]:  # fmt: skip
        """Embedding-stage probabilities: similarities over a temperature plus the
        rules' log-probabilities (``config`` overrides the classifier's knobs)."""
        cfg = config or self.config
        floor = rule_probs["general"]
        logits = {
            r: s / cfg.embedding_temperature
            + cfg.rule_weight * math.log(max(rule_probs.get(r, floor), 1e-6))
            for r, s in sims.items()
        }
        ranked = sorted(sims, key=sims.__getitem__, reverse=True)
        note = "embedding: nearest " + ", ".join(
            f"{r} {sims[r]:.2f}" for r in ranked[:3]
        )
        return _softmax(logits), note

    def _stage_probs(
        self, pending: Pending, config: CascadeConfig | None = None
    ) -> tuple[dict[str, float], str, list[str]]:
        notes: list[str] = []
        probs, stage = pending.probs, "rules"
        if pending.sims is not None:
            probs, note = self.mix_embedding(pending.sims, pending.probs, config)
            stage = "embedding"
            notes.append(note)
        if pending.judged is not None:
            judged, note = pending.judged
            notes.append(note)
            if judged is not None:
                probs, stage = judged, "llm"
        return probs, stage, notes

    def _needs_judge(self, pending: Pending) -> bool:
        if self.judge is None or pending.non_english or pending.request:
            return False
        if pending.ex.n_images:
            return False
        probs, stage, _ = self._stage_probs(pending)
        cal = self.config.calibration
        return calibrate(cal, stage, max(probs.values())) < self.config.judge_below

    def _judge_stage(self, pending: Pending) -> tuple[dict[str, float] | None, str]:
        from .judge import combine_vote

        probs, _, _ = self._stage_probs(pending)
        verdict, note = self.judge.judge(pending.ex.text)
        if verdict is None:
            return None, f"{note} (kept the earlier decision)"
        route, conf = verdict
        mixed = combine_vote(probs, route, conf, self.config.judge_weight)
        return mixed, f"judge: {route} ({conf:.2f})"

    # -- conclude -----------------------------------------------------------------

    def decide(
        self, pending: Pending, config: CascadeConfig | None = None,
        prior: tuple[str, str] | None = None, follow_up: bool = False,
    ) -> Explained:  # fmt: skip
        """The decision for analysed ``pending`` (``config`` overrides knobs, as the
        cross-validation does); ``prior`` is ``(route, source)`` from the
        conversation."""
        cfg = config or self.config
        probs, stage, notes = self._stage_probs(pending, cfg)
        if prior is not None and follow_up:
            route, source = prior
            if not _clearly_other(pending, probs, stage, route, cfg):
                return inherit(pending, probs, route, source, cfg)
            notes.append(
                f"follow-up, but the message itself says otherwise ({source} route {route})"
            )
        elif prior is not None and prior[0] in probs:
            route, source = prior
            boosted = dict(probs)
            boosted[route] *= cfg.conversation_prior
            z = sum(boosted.values())
            probs = {k: v / z for k, v in boosted.items()}
            notes.append(f"prior: {source} route {route} (x{cfg.conversation_prior:g})")
        return assemble(pending, probs, stage, notes, cfg)

    def _conclude(
        self, ctx: Context, pending: Pending | Explained,
        prior_pending: Pending | Explained | None, session_id: str | None,
    ) -> Explained:  # fmt: skip
        prior: tuple[str, str] | None = None
        if ctx.previous_route:
            prior = (ctx.previous_route, ctx.source or "metadata")
        elif prior_pending is not None:
            earlier = (
                prior_pending
                if isinstance(prior_pending, Explained)
                else self.decide(prior_pending)
            )
            prior = (earlier.decision.route, "content")
        if isinstance(pending, Explained):
            out = pending
        elif ctx.tool_loop and prior is not None:
            out = inherit(
                pending, pending.probs, prior[0], prior[1], self.config, tool=True
            )
        else:
            out = self.decide(pending, prior=prior, follow_up=ctx.follow_up)
        out.timings = {
            **(pending.timings if isinstance(pending, Pending) else {}),
            **out.timings,
        }
        if session_id and out.key != "structure":
            self.sessions.put(session_id, out.decision.route)
        return out


def _clearly_other(
    pending: Pending, probs: Mapping[str, float], stage: str, prior: str,
    cfg: CascadeConfig,
) -> bool:  # fmt: skip
    """Whether a follow-up names its own route: an image, another language, a
    language request, or rules sure of a domain other than the prior's."""
    if pending.ex.n_images or pending.non_english or pending.request:
        return prior not in ("vision", "multilingual") or bool(pending.ex.n_images)
    best = max(probs, key=probs.__getitem__)
    return (
        stage == "rules"
        and best not in ("general", prior)
        and probs[best] >= cfg.rules_accept
    )

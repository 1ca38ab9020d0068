"""The cascade's optional third stage: a small LLM asked to name the route.

:class:`LLMJudge` sends one short chat request through any backend: a system prompt
that lists the routes and their descriptions, the request text as the user turn, and
a JSON schema (``route`` an enum of the route names) as ``response_format`` that
Ollama's ``format`` and OpenAI's ``json_schema`` enforce (other backends ignore it).
The answer is read after the last ``</think>``; the first JSON object in it must
name a known route and give a confidence in [0, 1].

A bad answer or a failing backend never raises: :meth:`LLMJudge.judge` returns
``None`` and a reason, and the cascade keeps its earlier decision with that reason
as a signal. Only a bad configuration (a malformed ``BACKEND:MODEL`` spec) raises.

How the vote combines (:func:`combine_vote`): the judge's answer "route ``r`` with
confidence ``c``" is read as a noisy observation whose likelihood is ``c`` for
``r`` and ``(1 - c) / (K - 1)`` for each of the other ``K - 1`` routes (``c``
clipped to [1/K, 0.99]: a vote below chance carries no information, and one vote
never rules a route out). The posterior is log-linear, like the embedding stage's
mix with the rule prior::

    log p'(k) = log p(k) + judge_weight * log L(k)   (then normalised)

``judge_weight = 1`` is Bayes' rule taking the judge's stated confidence at face
value; smaller values discount an overconfident model, ``0`` ignores it.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

from qwen_router.errors import ConfigError
from qwen_router.profiles import parse_model_spec
from qwen_router.thinking import THINK_CLOSE, split_thinking
from qwen_router.types import GenerationParams, Message

__all__ = ["BUILTIN_DESCRIPTIONS", "LLMJudge", "combine_vote", "parse_answer"]

BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "general": "everyday questions, writing, advice, knowledge, chat",
    "code": "programming: writing, explaining, debugging or reviewing code",
    "math": "mathematics: calculations, equations, proofs, word problems",
}

_SYSTEM = (
    "You are a request classifier. Pick the one route that fits the user's "
    "request best.\nRoutes:\n{routes}\n"
    'Answer ONLY with JSON: {{"route": "<one of {names}>", "confidence": <0..1>}}'
)
# Framed so that a small model classifies the request instead of answering it.
_USER = (
    "Classify this request (do not answer it):\n<request>\n{text}\n</request>\n"
    "Reply with the JSON only."
)
_TIMEOUT_BACKENDS = ("ollama", "openai")  # backends whose options take ``timeout``
_MAX_INPUT_CHARS = 2000
_decoder = json.JSONDecoder()


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")


def parse_answer(
    text: str, routes: Mapping[str, Any]
) -> tuple[tuple[str, float] | None, str]:
    """``((route, confidence), "")`` from a model's answer, or ``(None, reason)``.

    Reads the text after the last ``</think>`` (or after a complete
    ``<think>…</think>`` block), takes the first JSON object in it (code fences
    and surrounding prose are fine), and checks ``route`` (case-insensitive) and
    ``confidence``.
    """
    _, answer = split_thinking(text)
    answer = answer.rpartition(THINK_CLOSE)[2].strip()
    obj: Any = None
    for i, ch in enumerate(answer):
        if ch != "{":
            continue
        try:
            obj, _ = _decoder.raw_decode(answer, i)
        except ValueError:
            continue
        if isinstance(obj, dict):
            break
        obj = None
    if obj is None:
        return None, f"judge: unparseable answer {_short(answer)}"
    by_lower = {name.lower(): name for name in routes}
    route = obj.get("route")
    if not isinstance(route, str) or route.strip().lower() not in by_lower:
        return None, f"judge: unknown route {_short(str(route))} in answer"
    conf = obj.get("confidence")
    if isinstance(conf, bool) or not isinstance(conf, int | float):
        return None, f"judge: confidence {_short(str(conf))} is not a number"
    if not 0 <= conf <= 1 or math.isnan(conf):
        return None, f"judge: confidence {conf} is outside [0, 1]"
    return (by_lower[route.strip().lower()], float(conf)), ""


def combine_vote(
    probs: Mapping[str, float], route: str, confidence: float, weight: float
) -> dict[str, float]:
    """The earlier stage's ``probs`` updated by the judge's vote (module docstring).

    Routes missing from ``probs`` (a profile route the rules alone did not score)
    start at the ``general`` probability, as in the embedding stage.
    """
    floor = probs.get("general", min(probs.values()))
    classes = list(dict.fromkeys([*probs, route]))
    k = len(classes)
    c = min(max(confidence, 1 / k), 0.99)
    other = (1 - c) / (k - 1) if k > 1 else 1.0
    logits = {
        r: math.log(max(probs.get(r, floor), 1e-9))
        + weight * math.log(c if r == route else max(other, 1e-9))
        for r in classes
    }
    top = max(logits.values())
    exp = {r: math.exp(v - top) for r, v in logits.items()}
    z = sum(exp.values())
    return {r: v / z for r, v in exp.items()}


class LLMJudge:
    """Asks a small LLM, through any backend, which route a request belongs to.

    Args:
        model_spec: ``BACKEND:MODEL``, e.g. ``ollama:qwen3:0.6b`` or
            ``llamacpp:smollm2-135m-instruct``.
        backend_options: the profile's ``backends[BACKEND]`` options.
        routes: route name -> description (an empty description is allowed).
        max_tokens: answer budget; a JSON verdict needs about 20 tokens.
        timeout_s: for backends with a ``timeout`` option (ollama, openai) when
            the profile sets none; local backends are bounded by ``max_tokens``.
        backend: an already built backend to use instead of building one.

    Raises:
        ConfigError: a malformed model spec, an unknown backend, or no routes.
    """

    def __init__(
        self,
        model_spec: str,
        backend_options: Mapping[str, Any] | None,
        routes: Mapping[str, str],
        *,
        max_tokens: int = 64,
        timeout_s: float | None = 30.0,
        backend: Any = None,
    ) -> None:
        self.spec = parse_model_spec(model_spec)
        if not routes:
            raise ConfigError("classifier.judge_model: the judge needs routes")
        if max_tokens < 1:
            raise ConfigError(f"judge max_tokens must be >= 1, not {max_tokens}")
        self.routes = {str(k): str(v or "") for k, v in routes.items()}
        self.options = dict(backend_options or {})
        if self.spec.backend in _TIMEOUT_BACKENDS and timeout_s is not None:
            self.options.setdefault("timeout", timeout_s)
        self.max_tokens = max_tokens
        self._backend = backend
        self._lock = threading.Lock()
        names = list(self.routes)
        self.system_prompt = _SYSTEM.format(
            routes="\n".join(
                f"- {n}: {d}" if d else f"- {n}" for n, d in self.routes.items()
            ),
            names=", ".join(names),
        )
        self.response_format: dict[str, Any] = {
            "type": "json_schema",
            "json_schema": {
                "name": "route_choice",
                "schema": {
                    "type": "object",
                    "properties": {
                        "route": {"type": "string", "enum": names},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["route", "confidence"],
                    "additionalProperties": False,
                },
            },
        }

    def _get_backend(self) -> Any:
        with self._lock:
            if self._backend is None:
                from qwen_router.backends.registry import create_backend

                self._backend = create_backend(self.spec.backend, self.options)
            return self._backend

    def request(self, text: str) -> Any:
        """The :class:`GenerateRequest` the judge sends for ``text``."""
        from qwen_router.backends.base import GenerateRequest

        if len(text) > _MAX_INPUT_CHARS:
            text = (
                text[: _MAX_INPUT_CHARS // 2] + "\n…\n" + text[-_MAX_INPUT_CHARS // 2 :]
            )
        return GenerateRequest(
            model=self.spec.name,
            messages=[
                Message(role="system", content=self.system_prompt),
                Message(role="user", content=_USER.format(text=text)),
            ],
            params=GenerationParams(max_tokens=self.max_tokens, temperature=0.0),
            thinking=False,
            response_format=self.response_format,
        )

    def judge(self, text: str) -> tuple[tuple[str, float] | None, str]:
        """``((route, confidence), raw answer)`` or ``(None, reason)``; never raises
        for a bad answer or a failing backend."""
        try:
            backend = self._get_backend()
        except Exception as exc:  # noqa: BLE001 - reported as a signal, not raised
            return None, f"judge: backend unavailable: {exc}"
        try:
            result = backend.generate(self.request(text))
        except Exception as exc:  # noqa: BLE001
            return None, f"judge: backend failed: {type(exc).__name__}: {exc}"
        answer = result.text or ""
        verdict, reason = parse_answer(answer, self.routes)
        return verdict, reason or _short(answer, 60)

    def close(self) -> None:
        """Close the backend if one was built."""
        if self._backend is not None and hasattr(self._backend, "close"):
            self._backend.close()

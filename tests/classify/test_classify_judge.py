"""Stage ``llm``: the small-LLM judge — answer parsing, cascade flow, real backends."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from pathlib import Path

import pytest
from qwen_router.backends.base import GenerateRequest, GenerateResult
from qwen_router.classify import CascadeClassifier, CascadeConfig, default_classifier
from qwen_router.classify.judge import LLMJudge, combine_vote, parse_answer
from qwen_router.errors import BackendTimeout, ConfigError
from qwen_router.types import normalize_messages

ROUTES = {"general": "chat", "code": "programming", "math": "mathematics"}
# Rules and embedding both run on this one, and end unsure (math 0.84, code 0.24).
AMBIGUOUS = "What is the probability that my python script crashes if I roll 2 dice?"


class ScriptedJudgeBackend:
    """Control-flow fake (not a model): answers each request with the next script
    entry, or raises it; records requests and the threads they ran on."""

    name = "scripted"

    def __init__(self, *replies: str | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[GenerateRequest] = []
        self.threads: list[int] = []

    def generate(self, request: GenerateRequest) -> GenerateResult:
        self.requests.append(request)
        self.threads.append(threading.get_ident())
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return GenerateResult(text=reply)


def _judge(*replies: str | Exception) -> tuple[LLMJudge, ScriptedJudgeBackend]:
    backend = ScriptedJudgeBackend(*replies)
    return LLMJudge("fake:judge", {}, ROUTES, backend=backend), backend


# -- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ('<think>Dice, so maybe math.</think>\n{"route": "math", "confidence": 0.8}',
         ("math", 0.8)),
        # the template opened <think> itself: only the close tag is in the text
        ('it mentions python... </think>{"route": "code", "confidence": 0.55}',
         ("code", 0.55)),
        ('```json\n{"route": "math", "confidence": 0.9}\n```', ("math", 0.9)),
        ('Sure! {"note": 1} is not it; my answer: {"route": "General", '
         '"confidence": 1} and {"route": "code", "confidence": 0.1}',
         None),
        ('Sure! My answer: {"route": "General", "confidence": 1}. Hope it helps.',
         ("general", 1.0)),
    ],
)  # fmt: skip
def test_parse_good_answers(answer: str, verdict: tuple[str, float] | None) -> None:
    judge, backend = _judge(answer)
    got, reason = judge.judge("q")
    if verdict is None:  # the first JSON object has no route: rejected, not guessed
        assert got is None and "unknown route" in reason
    else:
        assert got == verdict, reason
    assert len(backend.requests) == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"route": "poetry", "confidence": 0.9}', "judge: unknown route 'poetry'"),
        ('{"route": "code", "confidence": 1.7}', "outside [0, 1]"),
        ('{"route": "code", "confidence": "high"}', "is not a number"),
        ('{"route": "code", "confidence": true}', "is not a number"),
        ('{"route": "code"}', "is not a number"),
        ("I think it is code.", "judge: unparseable answer 'I think it is code.'"),
        ('<think>{"route": "code", "confidence": 0.9}</think> no idea', "unparseable"),
        ("<think>still thinking when the budget ran out", "unparseable"),
        ('{"route": "code", "confidence": 0.9', "unparseable"),
        ("", "unparseable answer ''"),
    ],
)  # fmt: skip
def test_parse_bad_answers(answer: str, reason: str) -> None:
    judge, _ = _judge(answer)
    got, why = judge.judge("q")
    assert got is None
    assert reason in why


def test_long_garbage_is_shortened_in_the_reason() -> None:
    verdict, reason = parse_answer("x" * 500, ROUTES)
    assert verdict is None and len(reason) < 80 and reason.endswith("…'")


def test_request_shape() -> None:
    judge, backend = _judge('{"route": "code", "confidence": 0.7}')
    judge.judge("Sort a list in Rust " * 300)
    req = backend.requests[0]
    assert req.model == "judge" and req.thinking is False
    assert req.params.temperature == 0.0 and req.params.max_tokens == 64
    schema = req.response_format["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["route"]["enum"] == ["general", "code", "math"]
    system, user = req.messages
    assert system.role == "system" and "- code: programming" in system.text
    assert user.role == "user" and len(user.text) < 2200  # head and tail kept
    assert "<request>\nSort a list in Rust" in user.text


def test_backend_failures_are_reasons_not_errors() -> None:
    judge, _ = _judge(BackendTimeout("no answer in 30 s"))
    assert judge.judge("q") == (
        None,
        "judge: backend failed: BackendTimeout: no answer in 30 s",
    )
    broken = LLMJudge("ollama:qwen3:0.6b", {"no_such_option": 1}, ROUTES)
    verdict, reason = broken.judge("q")
    assert verdict is None and reason.startswith("judge: backend unavailable: ")


def test_configuration_errors_raise() -> None:
    with pytest.raises(ConfigError):
        LLMJudge("no-backend-prefix", {}, ROUTES)
    with pytest.raises(ConfigError):
        LLMJudge("nosuch:model", {}, ROUTES)
    with pytest.raises(ConfigError, match="judge_model"):
        CascadeConfig.from_section({"judge_model": "bogus"})
    with pytest.raises(ConfigError, match="judge_below"):
        CascadeConfig.from_section({"judge_model": "fake:x", "judge_below": 2})
    with pytest.raises(ConfigError, match="judge_modle"):
        CascadeConfig.from_section({"judge_modle": "fake:x"})


def test_timeout_goes_to_remote_backends_only() -> None:
    assert LLMJudge("ollama:m", {}, ROUTES, timeout_s=5).options == {"timeout": 5}
    assert LLMJudge("ollama:m", {"timeout": 9}, ROUTES).options == {"timeout": 9}
    assert LLMJudge("llamacpp:m", {"n_ctx": 512}, ROUTES).options == {"n_ctx": 512}


# -- combining the vote -----------------------------------------------------------


def test_combine_vote() -> None:
    prior = {"general": 0.2, "code": 0.3, "math": 0.5}
    assert combine_vote(prior, "code", 0.9, 0.0) == pytest.approx(prior)
    # a vote at chance level (1/3 for three routes) or below carries no information
    assert combine_vote(prior, "code", 0.2, 1.0) == pytest.approx(prior)
    post = combine_vote(prior, "code", 0.9, 1.0)  # Bayes: 0.3*0.9 vs 0.5*0.05
    assert post["code"] == pytest.approx(0.27 / (0.2 * 0.05 + 0.27 + 0.5 * 0.05))
    assert sum(post.values()) == pytest.approx(1)
    half = combine_vote(prior, "code", 0.9, 0.5)
    assert prior["code"] < half["code"] < post["code"]
    # a route the earlier stage did not score starts at the general probability
    added = combine_vote(prior, "travel", 0.99, 1.0)
    assert set(added) == {"general", "code", "math", "travel"}
    assert max(added, key=added.__getitem__) == "travel"


# -- the cascade with a judge (scripted backend: control flow only) ----------------


def _cascade(backend: ScriptedJudgeBackend, **cfg: object) -> CascadeClassifier:
    config = CascadeConfig(judge_model="fake:judge", **cfg)  # type: ignore[arg-type]
    judge = LLMJudge("fake:judge", {}, ROUTES, backend=backend)
    return CascadeClassifier(config, judge=judge)


def test_default_is_off_and_unchanged(classifier: CascadeClassifier) -> None:
    assert CascadeConfig().judge_model is None and classifier.judge is None
    decision, timings = classifier.classify_with_timings(normalize_messages(AMBIGUOUS))
    assert decision.stage == "embedding" and "llm" not in timings


def test_judge_decides_when_unsure(classifier: CascadeClassifier) -> None:
    before = classifier.classify(normalize_messages(AMBIGUOUS))
    assert before.route in ("math", "code") and before.confidence < 0.9
    other = "code" if before.route == "math" else "math"
    backend = ScriptedJudgeBackend(f'{{"route": "{other}", "confidence": 0.95}}')
    clf = _cascade(backend, judge_below=0.9)
    decision, timings = clf.classify_with_timings(normalize_messages(AMBIGUOUS))
    assert decision.stage == "llm" and decision.route == other, decision
    assert f"judge: {other} (0.95)" in decision.signals
    assert any(s.startswith("embedding:") for s in decision.signals)
    assert set(timings) == {"rules", "embedding", "llm"}
    assert (
        f"<request>\n{AMBIGUOUS}\n</request>" in backend.requests[0].messages[-1].text
    )


def test_judge_skipped_when_sure_or_not_english() -> None:
    backend = ScriptedJudgeBackend('{"route": "general", "confidence": 0.99}')
    clf = _cascade(backend)  # judge_below 0.6
    for text in [
        AMBIGUOUS,  # 0.84 after the embedding stage: sure enough
        "```js\nfunction f() { return 1; }\n```\nWhy is this slow?",
        "¿Cuál es el río más largo de Europa?",
        "Translate 'where is the library' into German.",
    ]:
        decision, timings = clf.classify_with_timings(normalize_messages(text))
        assert decision.stage != "llm" and "llm" not in timings
    assert backend.requests == []


def test_bad_answer_keeps_the_earlier_decision(classifier: CascadeClassifier) -> None:
    before = classifier.classify(normalize_messages(AMBIGUOUS))
    clf = _cascade(ScriptedJudgeBackend("math, I guess"), judge_below=1.0)
    decision = clf.classify(normalize_messages(AMBIGUOUS))
    assert (decision.route, decision.confidence, decision.stage) == (
        before.route, before.confidence, "embedding",
    )  # fmt: skip
    assert decision.signals[:-1] == before.signals
    assert decision.signals[-1] == (
        "judge: unparseable answer 'math, I guess' (kept the earlier decision)"
    )


def test_async_path_runs_the_judge_off_the_loop() -> None:
    backend = ScriptedJudgeBackend('{"route": "code", "confidence": 0.95}')
    clf = _cascade(backend, judge_below=1.0)
    decision = asyncio.run(clf.aclassify(normalize_messages(AMBIGUOUS)))
    assert decision.stage == "llm" and decision.route == "code"
    assert backend.threads and backend.threads[0] != threading.get_ident()


# -- real backends ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_profile(tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("judge") / "judged.yaml"
    path.write_text(
        f"name: judged\nbackends:\n  hf: {{device: cpu, dtype: float32}}\n"
        f"routes:\n  general: {{model: 'hf:{tiny_qwen2}'}}\n"
        f"classifier:\n  judge_model: 'hf:{tiny_qwen2}'\n  judge_below: 1.0\n"
        f"  judge_max_tokens: 8\n",
        encoding="utf-8",
    )
    return path


def test_real_tiny_qwen2_judge_is_garbage_and_ignored(
    tiny_profile: Path, classifier: CascadeClassifier
) -> None:
    clf = default_classifier(tiny_profile)
    assert isinstance(clf, CascadeClassifier) and clf.judge is not None
    assert clf.judge.options == {"device": "cpu", "dtype": "float32"}
    before = classifier.classify(normalize_messages(AMBIGUOUS))
    decision, timings = clf.classify_with_timings(normalize_messages(AMBIGUOUS))
    assert "llm" in timings  # the random model really ran
    assert decision.stage == "embedding"
    assert (decision.route, decision.confidence) == (before.route, before.confidence)
    assert decision.signals[-1].startswith("judge: unparseable answer ")
    assert decision.signals[-1].endswith("(kept the earlier decision)")


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python missing"
)
def test_real_smollm2_judge_completes() -> None:
    judge = LLMJudge(
        "llamacpp:smollm2-135m-instruct", {"n_ctx": 1024}, ROUTES, max_tokens=48
    )
    try:
        verdict, reason = judge.judge("Solve for x: 3x + 7 = 22.")
    finally:
        judge.close()
    if verdict is None:  # a 135M model may not follow the format: a clear reason
        assert reason.startswith("judge: "), reason
    else:
        route, conf = verdict
        assert route in ROUTES and 0 <= conf <= 1

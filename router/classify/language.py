"""Language identification: Unicode script first, then evidence within the script.

Scripts that belong to one language (Greek, Thai, Hangul, kana, Bengali, Telugu...)
decide at once, and they decide even when a few English words are mixed in ("Ποιον
κέρδισαν οι Μπρόνκος στο divisional game;" is Greek): only an English sentence that
quotes foreign text stays English. Han without kana is Chinese. For Cyrillic, Arabic
and Devanagari, py3langid (a naive-Bayes byte n-gram model, 4.5 MB, offline) ranks the
languages of that script. Latin text combines py3langid with function words and
distinctive letters of ~20 languages, which is what makes two- and three-word
questions ("Was bedeutet Rhodophyta?", "¿Cómo estás hoy?") come out right.

py3langid is imported on first use and its model is loaded once per process
(:mod:`qwen_router.classify.langid_model`: in one decompression call).
"""

from __future__ import annotations

import bisect
import contextvars
import functools
import math
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .langid_model import load_identifier
from .latin import LATIN_LANGUAGES, latin_evidence

__all__ = [
    "LangResult",
    "LanguageModelNotLoaded",
    "detect_language",
    "english_share",
    "model_load_refused",
    "script_counts",
]

# (first code point, last code point, script)
_RANGES: list[tuple[int, int, str]] = sorted([
    (0x0041, 0x005A, "latin"), (0x0061, 0x007A, "latin"), (0x00C0, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"), (0x0370, 0x03FF, "greek"), (0x1F00, 0x1FFF, "greek"),
    (0x0400, 0x052F, "cyrillic"), (0x0530, 0x058F, "armenian"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"), (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0A00, 0x0A7F, "gurmukhi"), (0x0A80, 0x0AFF, "gujarati"),
    (0x0B00, 0x0B7F, "oriya"),
    (0x0B80, 0x0BFF, "tamil"), (0x0C00, 0x0C7F, "telugu"), (0x0C80, 0x0CFF, "kannada"),
    (0x0D00, 0x0D7F, "malayalam"), (0x0D80, 0x0DFF, "sinhala"),
    (0x0E00, 0x0E7F, "thai"),
    (0x0E80, 0x0EFF, "lao"), (0x0F00, 0x0FFF, "tibetan"), (0x1000, 0x109F, "myanmar"),
    (0x10A0, 0x10FF, "georgian"), (0x1100, 0x11FF, "hangul"),
    (0x1200, 0x137F, "ethiopic"),
    (0x1780, 0x17FF, "khmer"), (0x3040, 0x309F, "kana"), (0x30A0, 0x30FF, "kana"),
    (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"), (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"), (0xF900, 0xFAFF, "han"), (0x20000, 0x2FA1F, "han"),
    (0xAC00, 0xD7AF, "hangul"), (0x3130, 0x318F, "hangul"),
])  # fmt: skip
_STARTS = [r[0] for r in _RANGES]

# Scripts written by (practically) one language.
_SCRIPT_LANG = {
    "greek": "el", "armenian": "hy", "hebrew": "he", "bengali": "bn", "gurmukhi": "pa",
    "gujarati": "gu", "oriya": "or", "tamil": "ta", "telugu": "te", "kannada": "kn",
    "malayalam": "ml", "sinhala": "si", "thai": "th", "lao": "lo", "tibetan": "bo",
    "myanmar": "my", "georgian": "ka", "hangul": "ko", "ethiopic": "am", "khmer": "km",
    "kana": "ja",
}  # fmt: skip
# Scripts shared by several languages: py3langid chooses among these.
_SCRIPT_CANDIDATES = {
    "cyrillic": {
        "ru",
        "uk",
        "bg",
        "be",
        "mk",
        "sr",
        "kk",
        "ky",
        "mn",
        "tg",
        "tt",
        "ba",
    },
    "arabic": {"ar", "fa", "ur", "ps", "ug", "ku", "sd"},
    "devanagari": {"hi", "mr", "ne", "sa"},
}
# The most used language of a shared script gets this prior weight over its script
# mates: short texts otherwise spread over related languages (ru/bg, ar/fa, hi/mr).
_SCRIPT_PRIOR = {"ru": 3.0, "ar": 3.0, "hi": 3.0}
# py3langid labels that are not ISO 639-1, folded into the macro-language.
_ALIASES = {
    "wuu": "zh",
    "yue": "zh",
    "arz": "ar",
    "ary": "ar",
    "uzs": "uz",
    "sdh": "ku",
}

# Letters per word is far lower in logographic scripts; weigh them up when comparing.
_DENSITY = {"han": 3, "kana": 3, "hangul": 2}

_EN_FUNCTION_WORDS = frozenset(
    "the a an of to in on at by for with from and or but not no is are was were be "
    "been being am do does did have has had will would can could should may might "
    "must shall "
    "this that these those it its i you he she we they me him her us them my your his "
    "our their what which who whom whose when where why how if then than there here "
    "as so about into over after before under between all any each every some many "
    "much more most other such only also just very please give tell write make find "
    "list describe explain name".split()
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]{1,80}(?:'[^\W\d_]{1,80})?")
# Share of (density-weighted) letters in non-Latin scripts from which the script
# decides; below it, a stray Greek letter or CJK name does not change the language.
_FOREIGN_MIN = 0.15
_PROSE_MAX = 4000
# Latin scoring: weight of py3langid's log-probability, of each function-word or
# letter vote, and English's prior (most traffic is English).
_ID_WEIGHT = 1.0
_VOTE_WEIGHT = 2.0
_ENGLISH_PRIOR = 0.7
# Function-word / letter votes by which the leading language must beat the next one
# (and its own minimum) to decide without py3langid.
_DECISIVE = 2.5


@dataclass(frozen=True)
class LangResult:
    """A language decision: ISO 639-1 code, confidence, dominant script, reason."""

    lang: str
    confidence: float
    script: str | None
    reason: str
    p_english: float = 0.0


def _script_of(ch: str) -> str | None:
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return None


def script_counts(text: str) -> Counter[str]:
    """Letters per script (only letters in a known script are counted)."""
    if text.isascii():  # most requests: every ASCII letter is Latin
        letters = sum(map(str.isalpha, text))
        return Counter({"latin": letters} if letters else {})
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            script = _script_of(ch)
            if script is not None:
                counts[script] += 1
    return counts


def english_share(text: str) -> tuple[float, int]:
    """Share of Latin words that are English function words, and the word count."""
    return _english_share([w.lower() for w in _WORD.findall(text) if w.isascii()])


def _english_share(words: list[str]) -> tuple[float, int]:
    """:func:`english_share` of ASCII words already lower-cased."""
    if not words:
        return 0.0, 0
    return sum(w in _EN_FUNCTION_WORDS for w in words) / len(words), len(words)


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    return load_identifier(norm_probs=True)


class LanguageModelNotLoaded(Exception):
    """The text needs py3langid's model, which is not loaded yet, and loading it was
    refused here (:func:`model_load_refused`)."""


_LOAD_REFUSED = contextvars.ContextVar("qwen_router_langid_load_refused", default=False)


@contextmanager
def model_load_refused() -> Iterator[None]:
    """Within the block, a text that needs py3langid's model before it is loaded raises
    :class:`LanguageModelNotLoaded` instead of loading it (0.75 s): for code on an event
    loop, which then identifies that text in a worker thread."""
    token = _LOAD_REFUSED.set(True)
    try:
        yield
    finally:
        _LOAD_REFUSED.reset(token)


def _model() -> Any:
    if _LOAD_REFUSED.get() and _identifier.cache_info().currsize == 0:
        raise LanguageModelNotLoaded
    return _identifier()


def _rank(text: str, allowed: set[str] | None) -> tuple[str, float, float]:
    """Best language among ``allowed``, its probability, and P(English)."""
    merged: dict[str, float] = {}
    for code, p in _model().rank(text):
        code = _ALIASES.get(code, code)
        if len(code) != 2 or code == "la":
            continue
        if allowed is None or code in allowed:
            prior = _SCRIPT_PRIOR.get(code, 1.0) if allowed is not None else 1.0
            merged[code] = merged.get(code, 0.0) + p * prior
    if not merged:
        return "und", 0.0, 0.0
    total = sum(merged.values()) or 1.0
    best = max(merged, key=merged.__getitem__)
    return best, merged[best] / total, merged.get("en", 0.0) / total


def _latin_logits(prose: str, words: list[str]) -> dict[str, float]:
    """Log-odds per language: py3langid's log-probability plus function-word and
    letter votes (:mod:`qwen_router.classify.latin`), English slightly preferred."""
    fw, ch = latin_evidence(words, prose)
    ident: dict[str, float] = {}
    for code, p in _model().rank(prose):
        code = _ALIASES.get(code, code)
        if len(code) == 2 and code != "la":
            ident[code] = ident.get(code, 0.0) + p
    total = sum(ident.values()) or 1.0
    top = sorted(ident, key=ident.__getitem__, reverse=True)[:3]
    logits = {}
    for lang in {*LATIN_LANGUAGES, *top}:
        p = ident.get(lang, 0.0) / total
        logits[lang] = (
            _ID_WEIGHT * math.log(p + 1e-3)
            + _VOTE_WEIGHT * (fw.get(lang, 0.0) + ch.get(lang, 0.0))
            + (_ENGLISH_PRIOR if lang == "en" else 0.0)
        )
    return logits


def _non_latin(
    prose: str, script: str, share: float, en_share: float, n_words: int,
    english_words_min: float,
) -> LangResult:
    """A text whose letters are mostly (or largely) in a non-Latin script."""
    if script == "kana" or script == "han":
        lang, conf = ("ja", 0.99) if script == "kana" else ("zh", 0.5 + share / 2)
        reason = "Japanese kana" if script == "kana" else "Han characters, no kana"
    elif script in _SCRIPT_LANG:
        lang, conf, reason = _SCRIPT_LANG[script], 0.5 + share / 2, f"{script} script"
    else:
        lang, p, _ = _rank(prose, _SCRIPT_CANDIDATES.get(script))
        conf, reason = p * (0.5 + share / 2), f"{script} script, py3langid {lang} {p:.2f}"
    # A few English words inside (names, borrowed terms) do not make it English; an
    # English sentence quoting a foreign phrase does.
    english_frame = share < 0.5 and en_share >= english_words_min and n_words >= 4
    if english_frame:
        p_en = min(0.95, 0.5 + en_share)
        return LangResult(
            "en", p_en, "latin",
            f"English sentence ({en_share:.0%} function words) quoting {script} text",
            p_en,
        )  # fmt: skip
    p_en = max(0.005, (1 - share) * min(1.0, en_share * 2))
    return LangResult(lang, min(0.99, conf), script, reason, round(p_en, 4))


def detect_language(prose: str, *, english_words_min: float = 0.25) -> LangResult:
    """Identify the language of ``prose`` (natural-language text, code removed).

    Script first: a non-Latin script that holds at least ``_FOREIGN_MIN`` of the
    (density-weighted) letters decides the language, unless the text is an English
    sentence quoting it. Latin text: py3langid plus function words and distinctive
    letters of ~20 languages (see :mod:`qwen_router.classify.latin`).
    ``english_words_min``: share of English function words that marks an English
    frame around quoted foreign-script text.
    """
    prose = prose[:_PROSE_MAX]
    counts = script_counts(prose)
    total = sum(counts.values())
    if total < 2:
        return LangResult(
            "en", 0.5, None, "no prose to identify; assuming English", 0.5
        )
    foreign = Counter(
        {k: v * _DENSITY.get(k, 1) for k, v in counts.items() if k != "latin"}
    )
    if prose.isascii():  # every word is Latin and ASCII: one list serves both
        words = [w.lower() for w in _WORD.findall(prose)]
        en_share, n_words = _english_share(words)
    else:
        words = [
            w.lower() for w in _WORD.findall(prose) if _script_of(w[0]) == "latin"
        ]
        en_share, n_words = english_share(prose)
    if foreign:
        script, weight = foreign.most_common(1)[0]
        if counts.get("kana", 0) >= max(2, 0.1 * total) and script in ("han", "kana"):
            script = "kana"
        foreign_weight = sum(foreign.values())  # Latin letters weigh 1 each
        share = foreign_weight / (foreign_weight + counts.get("latin", 0))
        if share >= _FOREIGN_MIN and counts[script] >= 2:
            return _non_latin(
                prose, script, share, en_share, n_words, english_words_min
            )
    if not words:
        return LangResult("en", 0.5, None, "no words to identify; assuming English", 0.5)
    fw, ch = latin_evidence(words, prose)
    votes = {k: fw.get(k, 0.0) + ch.get(k, 0.0) for k in {*fw, *ch}}
    ranked = sorted(votes, key=votes.__getitem__, reverse=True)
    lead = votes[ranked[0]] if ranked else 0.0
    second = votes[ranked[1]] if len(ranked) > 1 else 0.0
    if ranked and lead >= _DECISIVE and lead - second >= _DECISIVE:
        # The words alone decide (most requests): no need to load py3langid.
        best = ranked[0]
        margin = _VOTE_WEIGHT * (lead - second)
        conf = round(1 / (1 + math.exp(-margin)), 4)
        p_en = conf if best == "en" else round(1 - conf, 4)
        reason = (
            f"{best}: function words {fw.get(best, 0):.1f}, letters "
            f"{ch.get(best, 0):.1f} (decisive), English function words {en_share:.0%}"
        )
        return LangResult(best, conf, "latin", reason, p_en)
    logits = _latin_logits(prose, words)
    best = max(logits, key=logits.__getitem__)
    en = logits["en"]
    others = max(v for k, v in logits.items() if k != "en")
    p_en = 1 / (1 + math.exp(max(-50.0, min(50.0, others - en))))
    top = max(logits.values())
    z = sum(math.exp(v - top) for v in logits.values())
    conf = 1 / z
    if best != "en" and len(words) < 3 and fw.get(best, 0) + ch.get(best, 0) == 0:
        reason = f"too few words and no function word or letter of {best}"
        return LangResult("en", 0.5, "latin", reason, 0.5)
    reason = (
        f"{best}: function words {fw.get(best, 0):.1f}, letters {ch.get(best, 0):.1f}, "
        f"English function words {en_share:.0%}"
    )
    return LangResult(best, round(conf, 4), "latin", reason, round(p_en, 4))

"""Language identification: Unicode script first, then py3langid within the script.

Scripts that belong to one language (Greek, Thai, Hangul, kana, Bengali, Telugu...)
decide at once. Han without kana is Chinese. For Latin, Cyrillic, Arabic and
Devanagari text, py3langid (a naive-Bayes byte n-gram model, 140 languages, 4.5 MB,
offline) ranks the languages of that script. Latin text is English when English
function words make up a clear share of its words, whatever the n-gram model says
(short English questions are where n-gram models slip).

py3langid is imported on first use and its model is loaded once per process.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["LangResult", "detect_language", "english_share", "script_counts"]

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
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


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
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            script = _script_of(ch)
            if script is not None:
                counts[script] += 1
    return counts


def english_share(text: str) -> tuple[float, int]:
    """Share of Latin words that are English function words, and the word count."""
    words = [w.lower() for w in _WORD.findall(text) if w.isascii()]
    if not words:
        return 0.0, 0
    return sum(w in _EN_FUNCTION_WORDS for w in words) / len(words), len(words)


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _rank(text: str, allowed: set[str] | None) -> tuple[str, float, float]:
    """Best language among ``allowed``, its probability, and P(English)."""
    merged: dict[str, float] = {}
    for code, p in _identifier().rank(text):
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


def detect_language(prose: str, *, english_words_min: float = 0.25) -> LangResult:
    """Identify the language of ``prose`` (natural-language text, code removed).

    ``english_words_min``: share of English function words at or above which Latin
    text counts as English.
    """
    counts = script_counts(prose)
    total = sum(counts.values())
    if total < 2:
        return LangResult(
            "en", 0.5, None, "no prose to identify; assuming English", 0.5
        )
    weighted = Counter({k: v * _DENSITY.get(k, 1) for k, v in counts.items()})
    script, _ = weighted.most_common(1)[0]
    share = weighted[script] / sum(weighted.values())
    if counts.get("kana", 0) >= max(2, 0.1 * total) and script in ("han", "kana"):
        return LangResult(
            "ja", 0.99, "kana", f"Japanese kana ({counts['kana']} chars)", 0.01
        )
    if script == "han":
        conf = min(0.99, 0.5 + share / 2)
        return LangResult("zh", conf, "han", "Han characters, no kana", 1 - share)
    if script in _SCRIPT_LANG:
        lang = _SCRIPT_LANG[script]
        conf = min(0.99, 0.5 + share / 2)
        return LangResult(lang, conf, script, f"{script} script", 1 - share)
    if script in _SCRIPT_CANDIDATES:
        lang, p, _ = _rank(prose, _SCRIPT_CANDIDATES[script])
        reason = f"{script} script, py3langid {lang} {p:.2f}"
        return LangResult(lang, min(0.99, p * share), script, reason, 1 - share)
    # Latin (or anything else): English function words first, then the n-gram model.
    en_share, n_words = english_share(prose)
    if en_share >= english_words_min and n_words >= 3:
        conf = min(0.99, 0.6 + en_share)
        return LangResult(
            "en", conf, "latin", f"English function words {en_share:.0%}", conf
        )
    lang, p, p_en = _rank(prose, None)
    if lang != "en" and n_words < 3 and p < 0.9:
        reason = f"too few words to trust py3langid ({lang} {p:.2f})"
        return LangResult("en", 0.5, "latin", reason, 0.5)
    reason = f"py3langid {lang} {p:.2f}, English {p_en:.2f}"
    # English against the best other language: a short text spreads probability over
    # many related languages, but the pair (best, English) stays sharp.
    pair_en = p_en / (p + p_en) if lang != "en" and p + p_en > 0 else p_en
    return LangResult(lang, p, script, reason, pair_en)

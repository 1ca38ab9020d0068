"""Find the final answer in a model's text (pure string work, no sympy).

Chat models end a solution in many ways; this module looks for them in order of how
explicitly they mark the answer:

1. ``\\boxed{...}`` / ``\\fbox{...}`` (the last one; adjacent boxes form a multiple answer)
2. ``#### 42`` (GSM8K style)
3. "final answer: ...", "the answer is ...", "**Answer:** ..."
4. a concluding sentence: "Therefore, f'(x) = ...", "So the derivative is ..."
5. the last bold span that holds math
6. the last math span (``$...$``, ``\\[...\\]``, ``\\(...\\)``)
7. the last equation's right-hand side, then the last number

The result is a cleaned string (LaTeX or plain text) for the parser, plus the kind of cue
that found it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import is_prose

__all__ = [
    "Extraction",
    "extract_answer",
    "find_boxed",
    "label_of",
    "normalize_text",
    "split_label",
]

_UNICODE = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u00d7": r" \times ",
    "\u22c5": r" \cdot ",
    "\u00b7": r" \cdot ",
    "\u00f7": r" \div ",
    "\u2264": r" \le ",
    "\u2265": r" \ge ",
    "\u2260": r" \ne ",
    "\u03c0": r"\pi ",
    "\u221e": r"\infty ",
    "\u222a": r" \cup ",
    "\u2229": r" \cap ",
    "\u00b0": r"^\circ ",
    "\u2032": "'",
    "\u2019": "'",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u00bd": "(1/2)",
    "\u00bc": "(1/4)",
    "\u00be": "(3/4)",
    "\u2153": "(1/3)",
    "\u2154": "(2/3)",
    "\u2248": "=",
    "\u2192": r" \to ",
}
_SUPERSCRIPTS = str.maketrans(
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b", "0123456789-"
)
_SUP_RUN = re.compile(
    "[\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b]+"
)
_SQRT = re.compile(r"\u221a\s*(\(|\{)?")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
# chat-template tokens a model sometimes runs on into ("<|im_start|>user ...")
_TURN = re.compile(r"<\|(?:im_start|im_end|endoftext|eot_id|end)\|>.*", re.DOTALL)


@dataclass(frozen=True)
class Extraction:
    """The final answer found in a text.

    ``text`` is the cleaned answer (LaTeX or plain math), ``kind`` names the cue that found
    it (``boxed``, ``gsm8k``, ``answer-phrase``, ``conclusion``, ``bold``, ``math-span``,
    ``last-equation``, ``last-number``), ``raw`` is the span as written.
    """

    text: str
    kind: str
    raw: str


def normalize_text(text: str) -> str:
    """Unicode math (``x³``, ``−``, ``×``, ``√``, ``π``) to the ASCII/LaTeX the parsers read."""
    text = _THINK.sub(" ", text)
    text = _TURN.sub(" ", text)
    text = _SUP_RUN.sub(_superscript, text)
    text = _SQRT.sub(
        lambda m: r"\sqrt" + ("(" if m.group(1) == "(" else "{" if m.group(1) else " "),
        text,
    )
    for src, dst in _UNICODE.items():
        if src in text:
            text = text.replace(src, dst)
    return text


def _superscript(m: re.Match[str]) -> str:
    digits = m.group(0).translate(_SUPERSCRIPTS)
    return "^" + digits if len(digits) == 1 else "^(" + digits + ")"


def find_boxed(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` as ``(start, end, content)``, braces balanced."""
    out: list[tuple[int, int, str]] = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.start(), i, text[m.end() : i - 1]))
    return out


_LABEL = re.compile(
    r"^\s*(?:[A-Za-z](?:_\{?\w+\}?)?'*(?:\([^()=]{0,20}\))?|\\frac\{d\w*\}\{d\w\}[^=]{0,30}"
    r"|\\?[a-zA-Z]{1,8}'*\s*\([^()=]{0,20}\)|\([a-z](?:\s*,\s*[a-z])+\))\s*=(?!=)"
)


_IN_LABEL = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*\\in(?![a-zA-Z])\s*")


def split_label(answer: str) -> str:
    """Drop a leading label: ``f'(x) = 3x^2`` → ``3x^2``, ``x = 4`` → ``4``, ``(a,b)=(1,2)``,
    ``x \\in [-2, 7]`` → ``[-2, 7]``."""
    m = _IN_LABEL.match(answer)
    if m and answer[m.end() :].strip():
        return answer[m.end() :].strip()
    parts = _top_level_equals(answer)
    if len(parts) >= 2 and _LABEL.match(parts[0] + "=") and parts[-1].strip():
        return parts[-1].strip()
    return answer.strip()


def _top_level_equals(text: str) -> list[str]:
    """``text`` split at each ``=`` outside braces (``\\sum_{k=0}`` holds no label)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif (
            ch == "="
            and depth == 0
            and (i == 0 or text[i - 1] not in "<>!\\")
            and text[i + 1 : i + 2] != "="
        ):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


_SYMBOL_LABEL = re.compile(
    r"^\s*(?P<l>[A-Za-z](?:_\{?\w+\}?)?|\(\s*[a-z](?:\s*,\s*[a-z])+\s*\))\s*(?:=(?!=)|\\in(?![a-zA-Z]))"
)


def label_of(answer: str) -> str | None:
    """The variable an answer names (``x = 3`` → ``x``, ``(a, b) = ...`` → ``(a,b)``), or
    ``None``; only plain symbols and tuples of them count (``f(x) =`` names no variable)."""
    m = _SYMBOL_LABEL.match(answer)
    if not m or len(_top_level_equals(answer)) > 2:
        return None  # "a_3 = 2, a_{37} = 19" names several
    return re.sub(r"[\s{}]", "", m.group("l"))


_ANSWER_PHRASES = [
    r"final\s+answer\s*(?:is|:)?",
    r"(?<![a-z])answer\s*(?:is|:)",
    r"(?:the\s+)?(?:result|solution|solutions|roots?|value|derivative|integral|limit|"
    r"critical\s+points?|simplified\s+(?:form|expression))\s+(?:is|are)\s*:?",
]
_CONCLUSION = re.compile(
    r"(?:therefore|thus|hence|so|finally|in\s+conclusion|gives|yields|we\s+get|we\s+obtain)"
    r"\b[,:]?",
    re.I,
)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
# inline math ($...$, \(...\)) stays on one line; display math may span lines
_MATH_SPAN = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\(([^\n]+?)\\\)|(?<![\\\d])\$([^\n$]+?)(?<!\\)\$",
    re.DOTALL,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z\d^_{])-?\$?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+(?![A-Za-z]))?%?|-?\.\d+"
)


def extract_answer(text: str) -> Extraction | None:
    """The final answer in ``text``, or ``None`` when there is nothing answer-like."""
    text = normalize_text(text)
    boxed = find_boxed(text)
    if boxed:
        later = _statement_after(text, boxed[-1][1])
        if later is not None:
            return later
        start, end, content = boxed[-1]
        group = [content]
        for prev in reversed(boxed[:-1]):  # \boxed{1} \quad\text{and}\quad \boxed{2}
            if not _joins(text[prev[1] : start]):
                break
            group.insert(0, prev[2])
            start = prev[0]
        joined = ", ".join(g.strip() for g in group)
        return Extraction(_clean(joined), "boxed", text[start:end])
    gsm = re.findall(r"^\s*####\s*(.+?)\s*$", text, re.MULTILINE)
    if gsm:
        return Extraction(_clean(gsm[-1]), "gsm8k", gsm[-1])
    tail = text[-3000:]
    for phrase in _ANSWER_PHRASES:
        hits = list(re.finditer(phrase, tail, re.I))
        if hits:
            span = _value_after_verb(_sentence_after(tail, hits[-1].end()))
            if span and _has_math(span):
                return Extraction(_clean(span), "answer-phrase", span)
    sentences = _last_sentences(tail)
    for sentence in reversed(sentences[-2:]):
        hits = list(_CONCLUSION.finditer(sentence))
        if hits:
            hit = hits[-1]
            span = _conclusion_value(sentence[hit.end() :])
            if span and _has_math(span):
                return Extraction(_clean(span), "conclusion", span)
    bolds = [b for b in _BOLD.findall(tail[-800:]) if _has_math(b)]
    if bolds:
        return Extraction(
            _clean(_conclusion_value(bolds[-1]) or bolds[-1]), "bold", bolds[-1]
        )
    spans = [next(g for g in m.groups() if g) for m in _MATH_SPAN.finditer(tail)]
    if spans:
        return Extraction(_clean(spans[-1]), "math-span", spans[-1])
    lines = [ln.strip() for ln in tail.strip().splitlines() if ln.strip()]
    if lines:
        last = lines[-1].rsplit(":", 1)[-1].strip().rstrip(".")
        if _mathy(last):
            return Extraction(_clean(last), "last-line", last)
    for sentence in reversed(sentences[-3:]):
        if "=" in sentence:
            rhs = sentence.rsplit("=", 1)[1]
            if _has_math(rhs):
                return Extraction(_clean(rhs), "last-equation", rhs)
    numbers = _NUMBER.findall(lines[-1]) if lines else []
    if numbers:
        return Extraction(_clean(numbers[-1]), "last-number", numbers[-1])
    return None


_SEPARATOR = re.compile(
    r"\\(?:quad|qquad|,|;|:|!|\s)|\\(?:text|mathrm|textbf|mbox)\s*\{\s*(?:and|or|,)?\s*\}"
    r"|\\\\|\\[\[\]()]|\\(?:hspace|vspace)\*?\{[^{}]*\}|[\s$,.;~&]|\b(?:and|or)\b"
    r"|[A-Za-z](?:_\{?\w+\}?)?\s*=(?!=)|\\text\s*\{[^{}]{0,40}\}|\b(?:for|part|\([a-z]\))\b"
)


def _joins(between: str) -> bool:
    """True when the text between two boxes only separates them (spaces, "and", ``\\quad``)."""
    return len(between) <= 80 and not _SEPARATOR.sub("", between).strip()


def _statement_after(text: str, pos: int) -> Extraction | None:
    """An explicit "final answer" statement written after the last box wins over the box."""
    rest = text[pos:]
    for phrase in _ANSWER_PHRASES[:2]:
        hits = list(re.finditer(phrase, rest, re.I))
        if hits:
            span = _value_after_verb(_sentence_after(rest, hits[-1].end()))
            if span and _has_math(span):
                return Extraction(_clean(span), "answer-phrase", span)
    return None


_VERB = re.compile(r"\b(?:is|are|equals|was|be)\b\s*:?\s*", re.I)


def _value_after_verb(span: str) -> str:
    """ "The largest $n$ is 34" → "34"; a span that is already math is returned as is."""
    if not span or not is_prose(span):
        return span
    hits = list(_VERB.finditer(span))
    if hits:
        span = span[hits[-1].end() :].strip()
    return _single_value(span)


def _single_value(span: str) -> str:
    """Prose holding exactly one math span or one number ("Sphere 3 hours ago") → that value."""
    if not is_prose(span):
        return span
    spans = [next(g for g in m.groups() if g) for m in _MATH_SPAN.finditer(span)]
    if len(spans) == 1 and not re.fullmatch(r"\s*[A-Za-z]\s*", spans[0]):
        return spans[0]
    numbers = _NUMBER.findall(_MATH_SPAN.sub(" ", span))
    if len(numbers) == 1 and not spans:
        return numbers[0]
    return span


def _has_math(s: str) -> bool:
    return bool(re.search(r"[\d\\^=]|\b[a-z]\b|\b(?:sqrt|pi|infty|inf)\b", s))


_FUNC_WORDS = re.compile(
    r"\b(?:sqrt|sin|cos|tan|cot|sec|csc|log|ln|exp|pi|arcsin|arccos|arctan)\b"
)


def _mathy(s: str) -> bool:
    """A line that is an expression, not prose: no word longer than two letters."""
    if not s or not re.search(r"\d|[a-z]\^|[a-z]\(|\\[a-zA-Z]", s):
        return False
    return not re.search(
        r"[A-Za-z]{3,}", _FUNC_WORDS.sub(" ", re.sub(r"\\[a-zA-Z]+", " ", s))
    )


def _last_sentences(text: str) -> list[str]:
    parts = re.split(
        r"(?<=[.!?])\s+(?=[A-Z*])|\n\s*\n|\n(?=\s*[-*#]|\s*\d+\.)", text.strip()
    )
    return [p for p in parts if p.strip()]


def _sentence_after(text: str, pos: int) -> str:
    rest = re.sub(r"^(?:\s|[:*]|\\?[\"'])+", "", text[pos:])
    rest = re.sub(r"^\*+\s*", "", rest)
    rest = rest.lstrip()
    m = _MATH_SPAN.match(rest)
    if m:
        values = [next(g for g in m.groups() if g)]
        pos = m.end()
        while True:  # "$x = 2$ and $x = -3$" is one multiple answer
            sep = re.match(r"\s*(?:,\s*)?(?:and|or|,)\s*", rest[pos:])
            nxt = _MATH_SPAN.match(rest, pos + sep.end()) if sep else None
            if not nxt:
                break
            values.append(next(g for g in nxt.groups() if g))
            pos = nxt.end()
        return ", ".join(values)
    # up to a sentence end: a period followed by space/newline/end, not a decimal point
    end = re.search(r"(?<!\d)\.(?:\s|$)|\.\s+(?=[A-Z])|\n\s*\n|\n", rest)
    return rest[: end.start()] if end else rest[:600]


def _conclusion_value(s: str) -> str:
    """From "the derivative is $x$" or "f'(x) = 3x^2 + 1" keep the value."""
    s = s.strip()
    spans = [next(g for g in m.groups() if g) for m in _MATH_SPAN.finditer(s)]
    if spans:
        return spans[-1]
    m = re.search(
        r"\b(?:is|are|equals|be|gives|get)\b\s*:?\s*(.+)$", s, re.I | re.DOTALL
    )
    if m:
        s = m.group(1)
    return _single_value(s)


_UNIT_WORDS = re.compile(
    r"(?<=[\d})])\s*(?:\\(?:text|mbox|mathrm)\{\s*[A-Za-z .]+\}(?:\^\{?\d\}?)?|"
    r"(?![a-z]\b)[A-Za-z][A-Za-z]+(?:\s+[a-z]+){0,3}(?:\^\{?\d\}?)?)\s*$"
)


def _clean(s: str) -> str:
    """Strip markdown, surrounding ``$``, trailing words/units and punctuation."""
    s = s.strip()
    s = re.sub(r"\*\*|__", "", s)
    m = _MATH_SPAN.fullmatch(s)
    if m:
        s = next(g for g in m.groups() if g)
    spans = _MATH_SPAN.findall(s)
    if spans and len(spans) == 1:
        inner = next(g for g in spans[0] if g)
        rest = _MATH_SPAN.sub("", s)
        if not re.search(r"\d", rest):
            s = inner
    s = s.strip().rstrip(".;:!,").strip()
    s = re.sub(
        r"^(?:approximately|about|around|exactly|just|only|roughly)\s+",
        "",
        s,
        flags=re.I,
    )
    s = re.sub(r"^\\?\$\s*(?=\d)", "", s)  # $1,000 -> 1,000
    if s.count("$") == 1:  # "2,74 $" (a currency sign after the amount)
        s = re.sub(r"(?<=\d)\s*\\?\$(?:\s*[A-Za-z]{0,2})?$", "", s)
    for _ in range(2):
        s = _UNIT_WORDS.sub("", s).strip().rstrip(".;:!,").strip()
    return s

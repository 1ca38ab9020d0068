"""First-stage domain evidence: code and math markers, language-learning requests.

Pure regular expressions over the (capped) text, no models: a fraction of a
millisecond for a typical prompt. Case-insensitive patterns are ``Rule`` objects that
match over the text's ``casefold()`` (:mod:`qwen_router.classify.patterns` says why).
Each pattern that fires adds its weight to a domain's evidence and leaves a reason.
The cascade turns the evidence into probabilities (``evidence_probs``); the embedding
stage adds the same evidence to its logits as a prior.

Math markers are partly language-agnostic (LaTeX, equations, numbers with units or
currency, a quantity question in any of ~20 languages), so that a word problem in
Russian or Swahili still carries the ``math`` label.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .patterns import Rule, ScanText

__all__ = [
    "SCAN_HEAD",
    "SCAN_TAIL",
    "Evidence",
    "code_math_evidence",
    "evidence_probs",
    "language_request",
    "scan_view",
]

# What the rules read of a long text: the head (the task) and the tail (the final
# question). Every pattern below is bounded, so the rules cost O(SCAN_HEAD + SCAN_TAIL)
# whatever a client sends.
SCAN_HEAD = 3000
SCAN_TAIL = 1000

_Pattern = tuple[str, Rule, float]
_I, _M, _S = re.I, re.M, re.S

_CODE: list[_Pattern] = [
    ("code fence", Rule(r"```"), 4.0),
    ("function signature", Rule(
        r"^[ \t]{0,40}(async[ \t]{1,4})?def \w{1,80}[ \t]{0,4}\(|\bfunction[ \t]{0,4}\w{0,80}[ \t]{0,4}\(|"
        r"\bfn \w{1,80}[ \t]{0,4}\(|\bfunc \w{1,80}[ \t]{0,4}\(|"
        r"\b(public|private|static)[ \t]{1,8}[\w<>\[\]]{1,80}[ \t]{1,8}\w{1,80}[ \t]{0,4}\(|"
        r"^[ \t]{0,40}(int|void|bool|char)[ \t]{1,8}\w{1,80}[ \t]{0,4}\(", _M,
        needs=r"\("), 4.0),
    ("doctest / docstring", Rule(r'>>> \w|"""|\'\'\''), 2.0),
    ("traceback / compiler error", Rule(
        r"Traceback \(most recent call last\)|\bat [\w.$]{1,200}\([\w.]{1,200}:\d{1,9}\)|"
        r"\b\w{0,80}(Error|Exception): |\bsegmentation fault\b|\berror: |"
        r"\bline \d{1,12}, in\b",
        needs=r"\(|: |segmentation fault|, in"), 3.0),
    ("import / class / include", Rule(
        r"^[ \t]{0,40}(import [\w.]{1,200}|from [\w.]{1,200} import|class \w{1,80}[ \t]{0,4}[:({]|"
        r"#include[ \t]{0,4}[<\"]|"
        r"package \w{1,80};|using namespace)", _M), 3.0),
    ("code syntax", Rule(
        r"(?<![\u0370-\u03ff\u1f00-\u1fff]);[ \t]{0,40}$|[{}][ \t]{0,40}$|=>|->|::|\+=|==|!=|&&|\|\||\bconsole\.log\b|\bprint\(|"
        r"\breturn\b|</?\w{1,40}>|\bSELECT\b[^\n]{1,200}?\bFROM\b|\$[A-Za-z_]\w{0,80}|"
        r"\b\w{1,80}\[\w{0,80}\]", _M,
        needs=r"[;{}=>&|$\[]|::|console\.log|print\(|return|SELECT"), 1.0),
    ("programming task", Rule(
        r"\b(write|create|implement|code|design|build|fix|debug|refactor|optimi[sz]e)\b"
        r"[^.?!\n]{0,40}\b(function|program|script|method|class|regex|query|api|"
        r"regular expression|endpoint|algorithm|unit tests?|loop|code|app|module|"
        r"library|cli)\b", _I), 3.0),
    ("code request", Rule(
        r"(^|[.!?:][ \t]{1,4})[ \t]{0,8}(please[ \t,]{1,4})?(write|create|implement|define|code|give me)"
        r"[ \t]{1,4}(a|an|the|me a)?[ \t]{0,4}((python|java|javascript|c\+\+|c#|rust|go|"
        r"ruby|php|sql|bash|shell|recursive|simple|small|short)[ \t]{1,4})?(function|program|"
        r"method|script|class|lambda|procedure|subroutine|snippet|one-liner|query)\b|"
        r"\b(in|using) (html|css|javascript|typescript|python|java|c\+\+|c#|rust|golang|"
        r"kotlin|swift|ruby|php|sql|bash|react)\b|"
        r"\b(bash|shell|terminal|unix|linux|git|sql|regex) (command|query|one-liner|"
        r"pattern|expression)s?\b|\b(merge conflicts?|pull requests?|git (rebase|merge|"
        r"commit|push|pull|branch|stash|checkout|clone))\b", _I | _M), 4.0),
    ("language + solution", Rule(
        r"\b(python|javascript|typescript|java|c\+\+|c#|rust|golang|go|kotlin|swift|ruby|"
        r"php|scala|haskell|sql|bash)\s{1,8}(solution|implementation|program|code|function|"
        r"script|class|snippet|method|query)\b", _I), 3.0),
    ("input/output examples", Rule(
        r"^[ \t]{0,40}(example \d{1,6}:[ \t]{0,8})?(input|output|in|out)[ \t]{0,8}:", _I | _M), 1.0),
    ("programming language", Rule(
        r"\b(python|javascript|typescript|java|c\+\+|c#|rust|golang|kotlin|swift|ruby|"
        r"php|perl|scala|haskell|sql|bash|shell script|powershell|html|css|react|"
        r"django|"
        r"node\.?js|numpy|pandas|git|github|docker|kubernetes|linux)\b", _I), 1.5),
    ("software vocabulary", Rule(
        r"\b(programming|coding|coder|programmer|software engineer\w{0,40}|developers?|"
        r"algorithms?|source code|codebase|syntax highlighting)\b", _I), 1.5),
    ("programming terms", Rule(
        r"\b(array|arrays|"
        r"linked list|binary tree|hash ?map|tuple|string|"
        r"strings|substring|integer list|list of (integers|numbers|strings)|recursion|"
        r"recursive|compile|compiler|debug|bug|stack trace|variable|boolean|runtime|"
        r"syntax|repository|merge conflict|pull request|commit|database|json|xml|csv|"
        r"regex|leetcode|stack overflow|time complexity|big-?o|data structure|"
        r"index|indices|iterate|camel ?case|snake ?case|uppercase|lowercase)\b", _I),
        1.0),
]  # fmt: skip

_QUANTITY_QUESTION = Rule(
    r"\b(how (many|much|long|far|old|fast|often|tall|big|heavy)|what(['’]s| is| was| will be) "
    r"the ([a-z]{2,20} ){0,2}(total|sum|product|difference|average|mean|value|cost|price|area|volume|"
    r"perimeter|probability|remainder|ratio|percentage|number|amount|speed|distance)|"
    r"what percent(age)?|find the (value|number|sum|product|area|least|greatest|"
    r"smallest|largest|remainder)|compute|calculate|"
    r"find (the|her|his|their|its|each|all)\b[^.?!\n]{0,40}\b(age|speed|score|cost|price|"
    r"total|sum|mean|median|average|area|number|value|profit|rate|weight|height|length|"
    r"width|distance|time|amount|probability|ratio|percentage|volume|perimeter)|"
    r"what (is|was|are|were|will be) [^.?!\n]{0,60}\b(in|per) [\w ]{1,30}(?=\s{0,4}\?)|"
    r"(?P<strong>what power of|(fewest|least|greatest|most|minimum|maximum|smallest|"
    r"largest) (possible )?(number|amount|value|sum|total)|express (your|the) answer|"
    r"simplest (radical )?form|to the nearest (whole number|tenth|hundredth|"
    r"thousandth|integer|cent|dollar|percent|degree)|common fraction))\b"
    # the same question in other languages: word-bounded for alphabets, substrings for
    # scripts without spaces (CJK, Thai)
    r"|\b(сколько|скільки|колко|wie viele?|wieviel|berechne\w{0,40}|anzahl|cu[aá]nt[oa]s?|"
    r"calcul[ae]\w{0,40}|combien|quant[oa]s|quanti|hoeveel|ile|kaç|hesapla\w{0,40}|bao nhiêu|"
    r"\w{0,40}ngapi|kiasi gani|muda gani|hesabu|berapa|hitung\w{0,40}|câți|câte|cât|"
    r"calculeaz\w{0,40}|πόσ\w{0,40}|"
    r"вычисли\w{0,40}|посчитай\w{0,40}|найдите|كم|احسب|چند|כמה)\b"
    r"|多少|几|幾|计算|求出|いくつ|いくら|何[\u30a0-\u30ff]|何(個|人|本|枚|円|匹|時間|分|日|回|歳|杯|冊|台)|"
    r"몇|얼마|เท่าไร|เท่าใด|กี่|कितन|গণনা|কত|ఎన్ని|ఎంత|எத்தனை",
    _I,
)
_NUMBER = Rule(
    r"(?<![A-Za-z0-9_.])\d{1,12}(?:[.,]\d{1,12})*(?![A-Za-z0-9_])", needs=r"\d"
)
# Number words 1-10, half, double and hundred in English and the MGSM languages
# (es fr de ru zh ja th sw bn te): quantities written out in word problems.
_NUMBER_WORDS = Rule(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twice|double|half|hundred|"
    r"dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doble|mitad|cien|"
    r"deux|trois|quatre|cinq|sept|huit|neuf|dix|moitié|cent|"
    r"zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|doppelt|hälfte|hundert|"
    r"два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|дважды|половин\w{0,40}|сто|"
    r"mbili|tatu|nne|tano|sita|saba|nane|tisa|kumi|nusu|mia)\b"
    r"|[两三四五六七八九十半百]|二つ|三つ|สอง|สาม|สี่|ห้า|ครึ่ง|দুই|তিন|চার|পাঁচ|অর্ধেক|"
    r"రెండు|మూడు|నాలుగు|ఐదు|సగం",
    _I,
)
_UNITS = Rule(
    r"[$€£¥₹%]|\b(dollars?|cents?|euros?|pounds?|miles?|km|kilometers?|meters?|feet|"
    r"foot|inches?|hours?|minutes?|seconds?|days?|weeks?|months?|years? old|kg|grams?|"
    r"liters?|gallons?|percent|pieces?|each|per|times|twice|half|third|quarter|"
    r"dozen)\b",
    _I,
)
_ENDS_IN_QUESTION = re.compile(r"[?？]\s{0,8}$")
_MATH: list[_Pattern] = [
    ("LaTeX", Rule(r"\\(frac|dfrac|sqrt|int|sum|prod|lim|cdot|times|pi|theta|"
                         r"alpha|beta|infty|le|ge|leq|geq|neq|boxed|binom|log|sin|cos|"
                         r"tan|angle|circ|pmatrix|mathbf|text)\b|\$(?=\S)[^$\n]{1,400}(?<=\S)\$"), 4.0),
    ("equation", Rule(
        r"\b[a-z]\s{0,8}\^\s{0,8}\{?\d|\b\d{1,12}\s{0,8}[a-z]\s{0,8}[+\-=]|\b[a-zA-Z]\(\s{0,8}[a-z]\s{0,8}\)\s{0,8}=|"
        r"\b[a-z]\s{0,8}[+\-*/]\s{0,8}\d{1,12}\s{0,8}=|=\s{0,8}-?\d{1,12}\s{0,8}[a-z]\b|\b[xyzn]\s{0,8}=\s{0,8}-?\d|\d\s{0,8}\^\s{0,8}\d|"
        r"[≤≥≠√∑∫]|(?<![\u0370-\u03ff])π(?![\u0370-\u03ff])",
        needs=r"[\d=≤≥≠√∑∫π]"), 3.0),
    ("math vocabulary", Rule(
        r"\b(solve|simplify|evaluate|equation|integral|derivative|differentiate|polynomial|quadratic|"
        r"logarithm|exponent|prime|primes|divisible|divisor|factorial|gcd|lcm|modulo|"
        r"probability|expected value|matrix|determinant|vector|eigen\w{0,40}|theorem|"
        r"proof|prove|triangle|circle|radius|diameter|hypotenuse|perimeter|area of|"
        r"volume of|angle|degrees|real numbers?|integers?|positive integers?|"
        r"rational|irrational|fraction|decimal|percent|ratio|arithmetic|geometric "
        r"(sequence|series)|sequence|series|digits?|domain|range of|function f|"
        r"solutions?|roots?|remainder|slope|intercept|parabola|asymptote|coefficient|"
        r"inequality|sum of|product of|mean|median|average|for all (integers|real|"
        r"positive|natural|n\b)|if and only if|odd integers?|even integers?)\b", _I), 1.5),
    ("arithmetic", Rule(r"\d\s{0,8}[-+*/×÷]\s{0,8}\d"), 1.0),
]  # fmt: skip

# Tasks that are neither code nor math even when the text carries numbers, JSON or a
# formula: data extraction, writing and role play. They raise the ``general`` logit.
_GENERAL: list[_Pattern] = [
    ("extraction task", Rule(
        r"\b(extract|identify|list|categori[sz]e|classify|summari[sz]e|analy[sz]e|"
        r"evaluate|rate|sort)\b[^.?!\n]{0,60}\b(from|in|of) (the |these |this )?(following|"
        r"given|above|provided)\b|\b(extract|identify|list|categori[sz]e|classify|"
        r"summari[sz]e|analy[sz]e|evaluate|rate|sort) (the |these |this )(following|given|"
        r"above|provided)\b|\breturn (the results|it|them|your answer)[ \t]{1,4}(as|in)"
        r"[ \t]{1,4}(a )?(json|csv|yaml|table)\b", _I), 2.0),
    ("writing / role play", Rule(
        r"\b(write|compose|draft|craft)\b[^.?!\n]{0,30}\b(poem|story|essay|email|letter|"
        r"blog post|speech|limerick|haiku|song|lyrics|tweet|slogan|headline|paragraph|"
        r"dialogue|script for a (play|film|movie))\b|\b(pretend|imagine) (you are|you're|"
        r"to be)\b|\bact as\b|\bthe role of\b|\bembody\b|\bpersona\b", _I), 2.0),
]  # fmt: skip

_OTHER_LANGUAGES = (
    r"french|spanish|german|italian|portuguese|russian|chinese|mandarin|"
    r"cantonese|japanese|korean|arabic|hindi|bengali|urdu|turkish|greek|latin|hebrew|"
    r"dutch|swedish|norwegian|danish|finnish|polish|czech|romanian|hungarian|"
    r"ukrainian|vietnamese|thai|indonesian|malay|swahili|tagalog|persian|farsi|"
    r"telugu|tamil|punjabi|gujarati|marathi|esperanto|irish|welsh|catalan|basque"
)
_LANGUAGE_NAMES = "english|" + _OTHER_LANGUAGES
_LANGUAGE_REQUEST = Rule(
    rf"\b(translat\w{{0,40}}|interpret)\b[^\n]{{0,100}}?\b(into|to|from|in)\s{{1,8}}({_LANGUAGE_NAMES})\b|"
    rf"\b({_OTHER_LANGUAGES})\b\s{{1,8}}(grammar|verbs?|nouns?|adjectives?|tenses?|words?|"
    rf"vocabulary|phrases?|sentences?|pronunciation|conjugation|translation|"
    rf"equivalent|spelling|lesson|idioms?|alphabet|characters?|text|reading|speakers?|"
    rf"subjunctive|moods?|articles?|prepositions?|particles?|accents?|slang|expressions?|"
    rf"declensions?|cases|genders?|syntax|word order)\b|"
    rf"\b(grammar|conjugat\w{{0,40}}|pronounc\w{{0,40}}|vocabulary|say|spell|write|mean\w{{0,40}}|learn\w{{0,40}}|"
    rf"practi[cs]e|reading ability|fluent|fluency)\b[^.?!\n]{{0,40}}\b(in|of|for)\s{{1,8}}"
    rf"({_OTHER_LANGUAGES})\b|"
    rf"\btranslat(e|ion)\b[^\n]{{0,30}}[:\"“«]|"
    # a short "And in Spanish?" / "now in French please"
    rf"^[\s\W]{{0,4}}((and|now|but|also|ok|okay|please|what about|how about)[\s,]{{1,4}}){{0,2}}"
    rf"((answer|reply|respond|say it|write it|do it|same)[\s]{{1,4}})?(in|into)\s{{1,4}}"
    rf"({_OTHER_LANGUAGES})\b[\s\W]{{0,6}}(please)?[\s\W]{{0,4}}$",
    _I,
)


@dataclass
class Evidence:
    """Weighted evidence per domain and the reasons behind it."""

    code: float = 0.0
    math: float = 0.0
    general: float = 0.0
    reasons: list[str] = field(default_factory=list)
    numbers: int = 0
    quantity_question: bool = False

    def scores(self) -> dict[str, float]:
        return {"code": self.code, "math": self.math}


def scan_view(text: str) -> str:
    """The part of ``text`` the rules scan: head and tail, at most ~4,000 chars."""
    if len(text) <= SCAN_HEAD + SCAN_TAIL:
        return text
    return text[:SCAN_HEAD] + "\n" + text[-SCAN_TAIL:]


def _fire(
    text: ScanText, patterns: list[_Pattern], cap: int = 2
) -> tuple[float, list[str]]:
    total, hits = 0.0, []
    for name, pattern, weight in patterns:
        if weight <= 1.5:  # light evidence counts each match
            n = pattern.count(text)
        else:  # strong evidence: present or not
            n = int(pattern.search(text) is not None)
        if n:
            total += weight * min(n, cap)
            hits.append(name if n == 1 else f"{name} x{n}")
    return total, hits


def code_math_evidence(text: str) -> Evidence:
    """Code and math evidence in ``text`` (any language; only :func:`scan_view` of it
    is read)."""
    text = scan_view(text)
    scan = ScanText.of(text)
    ev = Evidence()
    ev.code, code_hits = _fire(scan, _CODE, cap=3)
    ev.math, math_hits = _fire(scan, _MATH, cap=2)
    ev.general, general_hits = _fire(scan, _GENERAL, cap=1)
    ev.reasons += [f"code: {h}" for h in code_hits] + [f"math: {h}" for h in math_hits]
    ev.reasons += [f"general: {h}" for h in general_hits]
    ev.numbers = _NUMBER.count(scan)
    asked = _QUANTITY_QUESTION.search(scan[-3000:])
    ev.quantity_question = asked is not None
    strong = asked is not None and asked.group("strong") is not None
    units = _UNITS.count(scan)
    quantities = ev.numbers + _NUMBER_WORDS.count(scan[:5000])
    question = ev.quantity_question or bool(_ENDS_IN_QUESTION.search(text.strip()[-3:]))
    if ev.quantity_question and (
        quantities >= 2 or (quantities >= 1 and (len(text) >= 100 or strong))
    ):
        bonus = 3.0 + min(units, 3) * 0.5 + (1.0 if quantities >= 3 else 0.0)
        ev.math += bonus
        ev.reasons.append(
            f"math: word problem ({quantities} quantities, quantity question, "
            f"{units} units)"
        )
    elif question and ev.numbers >= 3 and len(text) >= 60:
        ev.math += 3.0
        ev.reasons.append(f"math: word problem ({ev.numbers} numbers and a question)")
    elif ev.numbers >= 2 and units >= 2 and len(text) > 120:
        ev.math += 2.0
        ev.reasons.append(f"math: quantities ({ev.numbers} numbers, {units} units)")
    elif ev.quantity_question:
        ev.math += 0.5
    return ev


def language_request(text: str) -> str | None:
    """The matched phrase when ``text`` asks for a translation or language help."""
    view = scan_view(text)[:5000]
    m = _LANGUAGE_REQUEST.search(ScanText.of(view))
    return view[m.start() : m.end()].strip() if m else None


def evidence_probs(
    scores: dict[str, float], *, baseline: float, scale: float
) -> dict[str, float]:
    """Softmax over ``general`` (at ``baseline``) and the evidence scores."""
    logits = {"general": baseline / scale, **{k: v / scale for k, v in scores.items()}}
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    z = sum(exp.values())
    return {k: v / z for k, v in exp.items()}

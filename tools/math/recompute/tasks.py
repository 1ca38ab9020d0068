"""Recognise the questions sympy can answer by itself (pure text, no sympy).

A question is recognised only when its words, once the math is taken out, all come from
the small vocabulary of that task ("Find the derivative of ...", "Solve for $x$: ...",
"Simplify ...", "Let $f(x) = ...$. What is $f(3)$?"). Anything else, a word problem, a
diagram, an extra condition, is left alone: the verifier then says ``unverifiable``
rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..answer.extract import normalize_text

__all__ = ["Task", "math_spans", "recognize"]

_SPAN = re.compile(
    r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$(.+?)(?<!\\)\$"
    r"|\\begin\{(?:align\*?|equation\*?)\}(.+?)\\end\{(?:align\*?|equation\*?)\}",
    re.DOTALL,
)

_COMMON = set(
    "a an the of is are what whats find determine compute calculate evaluate value values "
    "number your answer express give write enter as in to and then if let be for which "
    "result simplest form common fraction integer decimal exact exactly please show work "
    "step by steps".split()
)
_VOCAB: dict[str, set[str]] = {
    "derivative": set(
        "derivative derivatives differentiate second first respect with function "
        "f g y x t compute".split()
    ),
    "integral": set(
        "integral integrate indefinite definite antiderivative respect with "
        "function constant c".split()
    ),
    "limit": set("limit approaches as goes tends lim".split()),
    "critical": set(
        "critical point points stationary of function all local extrema "
        "minimum maximum minima maxima x values where".split()
    ),
    "solve": set(
        "solve solution solutions satisfies satisfy equation equations real all "
        "possible that such roots root positive negative largest greatest smallest "
        "least sum product separated by commas x y z t n a b k m p q r u v w "
        "unknown variable there".split()
    ),
    "evaluate": set(
        "simplify following expression single terminating convert mixed "
        "improper radical its simplified fully factor expand product quotient "
        "equivalent".split()
    ),
    "substitute": set("given that where defined equal equals suppose".split()),
    "arithmetic": set(
        "percent plus minus times divided multiplied sum difference "
        "product quotient squared cubed".split()
    ),
}


@dataclass
class Task:
    """A recognised question: its kind, the LaTeX/plain math it is about, qualifiers."""

    kind: (
        str  # derivative | integral | limit | critical | solve | evaluate | substitute
    )
    target: str
    definitions: list[str] = field(default_factory=list)
    variable: str | None = None
    order: int = 1
    qualifiers: set[str] = field(default_factory=set)
    rounding: str | None = None
    plain: bool = False
    data: dict[str, Any] = field(default_factory=dict)  # topic tasks' parsed parts


def math_spans(text: str) -> list[str]:
    """The math fragments of a question, in order."""
    spans = (next(g for g in m.groups() if g is not None) for m in _SPAN.finditer(text))
    return [re.sub(r"(?:\\[,;!]|\\quad|[\s.,;:~])+$", "", s).strip() for s in spans]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)}


def _fits(words: set[str], *kinds: str) -> bool:
    allowed = set(_COMMON)
    for kind in kinds:
        allowed |= _VOCAB[kind]
    return words <= allowed


def _rounding(q: str) -> str | None:
    m = re.search(
        r"nearest\s+(tenth|hundredth|thousandth|whole number|integer|"
        r"ten|hundred|cent|dollar|percent)",
        q,
        re.I,
    )
    if m:
        return m.group(1).lower()
    return None


def _qualifiers(words: set[str]) -> set[str]:
    names = {
        "positive",
        "negative",
        "largest",
        "greatest",
        "smallest",
        "least",
        "sum",
        "product",
        "integer",
        "real",
        "complex",
    }
    return words & names


def recognize(question: str) -> Task | None:
    """The sympy task this question asks for, or ``None`` when it is not one we can redo."""
    q = normalize_text(question)
    if len(q) > 4000 or "[asy]" in q or "\\begin{tabular" in q:
        return None
    rounding = _rounding(q)
    q_words = re.sub(r"(?i)to the nearest\s+\w+(\s+number)?", " ", q)
    spans = math_spans(q_words)
    prose = _SPAN.sub(" ", q_words)
    words = _words(prose)
    low = prose.lower()
    if not spans:
        return _recognize_plain(q_words, rounding)
    if re.search(r"\\(?:pmod|bmod|mod|equiv)(?![a-z])", q_words):
        return None  # modular arithmetic: the number-theory recogniser's job
    body = [
        s for s in spans if not re.fullmatch(r"[a-zA-Z]", s)
    ]  # "$x$" names a variable
    if not body:
        return None
    calculus = _calculus_kind(low)
    if calculus and len(body) == 1 and _fits(words, calculus):
        task = Task(calculus, body[0], rounding=rounding)
        task.order = 2 if "second" in words else 1
        task.variable = _respect_to(low, spans)
        return task
    if (
        re.search(
            r"\b(?:solve|solutions?|roots?|satisf(?:y|ies)|for what value|"
            r"possible values?|value of \S+ (?:that|such))\b",
            low,
        )
        or "solve" in words
    ):
        eqs = [s for s in body if _is_equation(s)]
        if len(eqs) == 1 and len(body) == 1 and _fits(words, "solve"):
            var = next((s for s in spans if re.fullmatch(r"[a-zA-Z]", s)), None)
            return Task(
                "solve",
                eqs[0],
                variable=var,
                qualifiers=_qualifiers(words),
                rounding=rounding,
            )
        return None
    defs = [s for s in body[:-1] if _is_definition(s)]
    if (
        defs
        and len(defs) == len(body) - 1
        and not _is_equation(body[-1])
        and _fits(words, "substitute")
    ):
        return Task("substitute", body[-1], definitions=defs, rounding=rounding)
    if len(body) == 1 and not _is_equation(body[0]) and _fits(words, "evaluate"):
        return Task("evaluate", body[0], rounding=rounding)
    return None


def _calculus_kind(low: str) -> str | None:
    if re.search(r"\bcritical points?\b|\bstationary points?\b", low):
        return "critical"
    if re.search(r"\bderivative\b|\bdifferentiate\b", low):
        return "derivative"
    if re.search(r"\bintegra(?:l|te)\b|\bantiderivative\b", low):
        return "integral"
    if re.search(r"\blimit\b", low):
        return "limit"
    return None


def _respect_to(low: str, spans: list[str]) -> str | None:
    m = re.search(r"with respect to\s+\$?([a-z])\$?", low)
    return m.group(1) if m else None


def _is_equation(s: str) -> bool:
    return (
        bool(re.search(r"(?<![<>!\\])=|\\(?:le|ge|leq|geq|neq|ne)(?![a-z])|<|>", s))
        and "\\\\" not in s
    )


_DEF = re.compile(r"^\s*(?:[a-zA-Z]\s*\(\s*[a-zA-Z]\s*\)|[a-zA-Z])\s*=(?!=)")


def _is_definition(s: str) -> bool:
    return all(
        _DEF.match(p)
        for p in re.split(r",\s*(?:\\quad)?\s*|\\text\{\s*and\s*\}", s)
        if p.strip()
    )


_PLAIN_CALC = re.compile(
    r"(?i)\b(?P<kind>derivative|differentiate|integral|integrate|antiderivative|critical points?|"
    r"limit)\b(?:\s+of)?\s*(?P<expr>.+?)\s*(?:with respect to\s+(?P<var>[a-z]))?\s*[?.]?\s*$"
)
_PLAIN_ASK = re.compile(
    r"(?i)^\s*(?:what\s+is|what's|compute|calculate|evaluate|simplify|find)\s+(?:the\s+value\s+of\s+)?"
    r"(?P<expr>[-+*/^().,%\d\sA-Za-z=]+?)\s*[?.]?\s*$"
)
_EQ = r"(?P<expr>[-+*/^().,\d\sA-Za-z]+?=[-+*/^().,\d\sA-Za-z]+?)"
_VAR = r"(?P<var>[a-z])"
_ASK_VALUE = r"(?:what\s+is|what's|find|determine|compute|calculate|give)\s+(?:the\s+value\s+of\s+)?"
# "Solve 2x + 3 = 7 for x", "Solve for x: 2x + 3 = 7", "Find x if 2x + 3 = 7",
# "If 2x + 3 = 7, what is x?": the variable is named, so other letters are not unknowns
_PLAIN_SOLVES = [
    re.compile(
        rf"(?i)^\s*solve\s+(?:the\s+equation\s+)?{_EQ}\s*,?\s+for\s+{_VAR}\s*[?.]?\s*$"
    ),
    re.compile(
        rf"(?i)^\s*solve\s*(?:for\s+{_VAR})?\s*(?:in\s+)?:?\s*(?:the\s+equation\s+)?{_EQ}\s*[?.]?\s*$"
    ),
    re.compile(
        rf"(?i)^\s*{_ASK_VALUE}{_VAR}\s*,?\s+(?:if|when|given\s+that|such\s+that|where)\s+"
        rf"{_EQ}\s*[?.]?\s*$"
    ),
    re.compile(
        rf"(?i)^\s*(?:if|given\s+that|suppose)\s+{_EQ}\s*,\s*(?:then\s+)?{_ASK_VALUE}{_VAR}\s*[?.]?\s*$"
    ),
]


_WORD_OPS = [
    (r"\bmultiplied by\b|\btimes\b", "*"),
    (r"\bdivided by\b|\bover\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bsquared\b", "^2"),
    (r"\bcubed\b", "^3"),
]


def _recognize_plain(q: str, rounding: str | None) -> Task | None:
    """Questions written without ``$``: "Find the derivative of f(x) = x^3 + 2x^2 - 5x + 3"."""
    text = " ".join(q.split())
    if re.search(r"\d\s+(?:times|plus|minus|multiplied|divided|squared|cubed)\b", text):
        for pattern, op in _WORD_OPS:
            text = re.sub(pattern, op, text)
    m = _PLAIN_CALC.search(text)
    if m:
        kind = _calculus_kind(m.group("kind").lower()) or "derivative"
        before = _words(text[: m.start()])
        if not _fits(before, kind):
            return None
        expr = re.sub(r"^(?:the\s+function\s+)", "", m.group("expr"), flags=re.I)
        return Task(
            kind,
            expr,
            variable=m.group("var"),
            plain=True,
            order=2 if "second" in before else 1,
            rounding=rounding,
        )
    for pattern in _PLAIN_SOLVES:
        m = pattern.search(text)
        if m and not re.search(r"(?i)\b(?:for|if|when|then|what)\b", m.group("expr")):
            return Task(
                "solve",
                m.group("expr"),
                variable=m.group("var"),
                plain=True,
                rounding=rounding,
            )
    m = _PLAIN_ASK.search(text)
    if m and re.search(r"\d", m.group("expr")):
        expr = m.group("expr")
        expr = re.sub(
            r"(?i)(\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+", r"(\1/100)*", expr
        )
        if re.search(
            r"[A-Za-z]{2,}", re.sub(r"\b(?:sqrt|sin|cos|tan|log|ln|exp|pi)\b", "", expr)
        ):
            return None
        return Task("evaluate", expr, plain=True, rounding=rounding)
    return None

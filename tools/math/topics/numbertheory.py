"""Number-theory questions sympy can redo from the text alone.

Recognised (the whole question must have one of these shapes, apart from an answer-format
sentence such as "Express your answer as an integer from 0 to 999."):

* remainders: "What is the remainder when $E$ is divided by $m$?", "the modulo $m$
  remainder of $E$", "$E \\pmod{m}$", "54 (mod 6)"; polynomial remainders too;
* modular inverses: "Compute $a^{-1}$ modulo $m$" / "$a^{-1} \\pmod{m}$";
* one linear congruence in one unknown with a range ("$0 \\le n < 18$") or asking for the
  smallest / largest positive solution;
* gcd / lcm of listed integers; the number, sum, or proper-divisor sum of positive
  divisors; largest / smallest prime factor, number of distinct prime factors, sum of the
  distinct prime factors;
* units / tens digit and digit sum of an integer expression;
* base conversion and arithmetic on base-$b$ numerals ("Express $413_5 \\div 2_5$ in base 5").
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from ..recompute.common import (
    NUMBER,
    clean_question,
    int_value,
    number_in,
    parse_value,
)
from ..recompute.expected import Expected, Unsupported
from ..recompute.tasks import Task
from .ntdigits import ASK as _ASK
from .ntdigits import HANDLERS as DIGIT_HANDLERS
from .ntdigits import base_of as _base
from .ntdigits import base_task as _base_task
from .ntdigits import digits_task as _digits

__all__ = ["HANDLERS", "recognize"]

MAX_FACTOR = 10**24  # factoring beyond this is left alone (time)
_FORMAT = re.compile(
    r"\s*(?:\(?(?:express|give|write|enter) your answer (?:as an? (?:integer|whole number|"
    r"positive integer|residue)(?: (?:from|between) \$?\d+\$? (?:to|and) \$?\d+\$?(?:,? inclusive)?)?"
    r"|in base (?:\$?\d+\$?|\w+))\.?\)?)\s*$",
    re.I,
)


def recognize(question: str) -> Task | None:
    """The number-theory task this question asks for, or ``None``."""
    q = clean_question(question)
    if len(q) > 600 or "[asy]" in q or "\\begin{tabular" in q:
        return None
    fmt_base = None
    m = _FORMAT.search(q)
    while m and m.start() > 0:
        b = re.search(r"in base (\S+?)\.?\)?$", m.group(0).strip(), re.I)
        if b:
            fmt_base = _base(b.group(1))
        q = q[: m.start()].rstrip()
        m = _FORMAT.search(q)
    for fn in (
        _inverse,
        _remainder,
        _congruence,
        _gcd_lcm,
        _divisors,
        _primes,
        _digits,
    ):
        task = fn(q)
        if task is not None:
            return task
    return _base_task(q, fmt_base)


def _full(pattern: str, q: str) -> re.Match[str] | None:
    return re.fullmatch(pattern + r"\s*[?.!]?\s*", q, re.I)


# -- remainders and congruences ---------------------------------------------------------

_E = rf"(?P<e>{NUMBER})"
_M = rf"(?P<m>{NUMBER})"


def _remainder(q: str) -> Task | None:
    m = (
        _full(
            rf"{_ASK} the remainder (?:when|if) (?:the (?:sum|product|number|polynomial) )?{_E} is divided by {_M}",
            q,
        )
        or _full(
            rf"{_ASK} the (?:modulo|mod) {_M} remainder of (?:the (?:following )?(?:sum|product|number|expression):? )?{_E}",
            q,
        )
        or _full(rf"{_ASK} the remainder of {_E} \((?:mod|modulo) (?P<m>\d+)\)", q)
        or _full(rf"{_ASK} the remainder of {_E} (?:divided by|modulo|mod) {_M}", q)
        or _full(rf"{_ASK} {_E} (?:modulo|mod) {_M}", q)
    )
    if m:
        return Task(
            "nt-remainder", m.group("e"), data={"e": m.group("e"), "m": m.group("m")}
        )
    m = _full(
        rf"{_ASK} \$(?P<e>[^$]+?)\s*\\(?:pmod\{{(?P<m>[^{{}}$]+)\}}|bmod\s*\{{?(?P<m2>[^{{}}$]+)\}}?)\$",
        q,
    )
    if m:
        mod = m.group("m") or m.group("m2")
        return Task("nt-remainder", m.group("e"), data={"e": m.group("e"), "m": mod})
    return None


def _inverse(q: str) -> Task | None:
    m = _full(
        rf"{_ASK} \$(?P<a>\d+)\^\{{-1\}}\s*(?:\\pmod\{{(?P<m2>\d+)\}}\$|\$,? modulo {_M})",
        q,
    ) or _full(
        rf"{_ASK} the (?:multiplicative |modular )?inverse of {NUMBER.replace('(?:', '(?P<a>', 1)} modulo {_M}",
        q,
    )
    if not m:
        return None
    mod = m.groupdict().get("m2") or m.group("m")
    return Task("nt-inverse", m.group("a"), data={"a": m.group("a"), "m": mod})


_CONG = re.compile(
    r"^(?P<lhs>[^=]+?)\s*\\equiv\s*(?P<rhs>[^=]+?)\s*\\pmod\s*\{\s*(?P<m>\d+)\s*\}$"
)


def _congruence(q: str) -> Task | None:
    spans = [s.strip().rstrip(".,~ ").strip() for s in re.findall(r"\$([^$]+)\$", q)]
    cong = [s for s in spans if "\\equiv" in s]
    if len(cong) != 1:
        return None
    c = _CONG.match(re.sub(r"(?:\\[,;!]|~|\\quad)", " ", cong[0]).strip())
    if not c:
        return None
    var = set(
        re.findall(
            r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", c.group("lhs") + c.group("rhs")
        )
    )
    if len(var) != 1:
        return None
    v = var.pop()
    prose = re.sub(r"\$[^$]*\$", " ", q).lower()
    data: dict[str, Any] = {
        "lhs": c.group("lhs"),
        "rhs": c.group("rhs"),
        "m": c.group("m"),
        "var": v,
    }
    rng = [s for s in spans if s not in cong and s != v]
    p = re.sub(r"\s+", " ", prose).strip(" ?.")
    if rng:
        flat = rng[0].replace(" ", "").replace("\\leq", "\\le")
        r = re.fullmatch(rf"(-?\d+)(\\le|<){v}(\\le|<)(-?\d+)", flat)
        if (
            len(rng) != 1
            or not r
            or not re.fullmatch(
                r"(?:what|which|find the) integer (?:satisfies|that satisfies|such that) and",
                p,
            )
        ):
            return None
        lo = int(r.group(1)) + (1 if r.group(2) == "<" else 0)
        hi = int(r.group(4)) - (1 if r.group(3) == "<" else 0)
        data.update(lo=lo, hi=hi)
        return Task("nt-congruence", cong[0], data=data)
    ask = re.fullmatch(
        r"(?:what is|find) the (smallest|least|largest|greatest) (positive|negative) (?:integer|whole number)? ?"
        r"(?:solution (?:to|of) the congruence|that satisfies(?: the congruence)?|such that)",
        p,
    )
    if not ask:
        return None
    data["pick"] = ask.group(1) in {"smallest", "least"}
    data["sign"] = ask.group(2)
    return Task("nt-congruence", cong[0], data=data)


def _remainder_value(task: Task) -> Expected:
    mod_text = number_in(task.data["m"])
    e_text = number_in(task.data["e"])
    e_val = (
        parse_value(e_text)
        if re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", e_text))
        else None
    )
    if e_val is not None:  # a polynomial divided by a polynomial
        divisor = parse_value(mod_text)
        syms = e_val.free_symbols | getattr(divisor, "free_symbols", set())
        if len(syms) != 1:
            raise Unsupported("the polynomials need one variable")
        x = syms.pop()
        if (
            not (e_val.is_polynomial(x) and divisor.is_polynomial(x))
            or sympy.degree(divisor, x) < 1
        ):
            raise Unsupported("not a polynomial division")
        return Expected(
            sympy.expand(sympy.rem(e_val, divisor, x)), "expr", "sympy:remainder", x
        )
    mod = int_value(mod_text)
    if mod < 1:
        raise Unsupported("the modulus must be positive")
    return Expected(
        sympy.Integer(int_value(e_text, modulus=mod)), "value", "sympy:remainder"
    )


def _inverse_value(task: Task) -> Expected:
    a, mod = int_value(task.data["a"]), int_value(task.data["m"])
    if mod < 2 or sympy.gcd(a, mod) != 1:
        raise Unsupported("no inverse")
    return Expected(
        sympy.Integer(sympy.mod_inverse(a, mod)), "value", "sympy:mod-inverse"
    )


def _congruence_value(task: Task) -> Expected:
    mod = int(task.data["m"])
    if not 2 <= mod <= 10**6:
        raise Unsupported("modulus out of range")
    v = sympy.Symbol(task.data["var"])
    lhs, rhs = parse_value(task.data["lhs"]), parse_value(task.data["rhs"])
    poly = sympy.Poly(sympy.expand(lhs - rhs), v)
    if poly.degree() != 1 or not all(c.is_integer for c in poly.all_coeffs()):
        raise Unsupported("only linear congruences with integer coefficients")
    a, b = (int(c) for c in poly.all_coeffs())  # a*v + b = 0 (mod m)
    sols = [r for r in range(mod) if (a * r + b) % mod == 0]
    if not sols:
        raise Unsupported("the congruence has no solution")
    if "lo" in task.data:
        lo, hi = task.data["lo"], task.data["hi"]
        if hi - lo > 10**6:
            raise Unsupported("range too wide")
        found = [n for n in range(lo, hi + 1) if (n % mod) in sols]
        if len(found) != 1:
            raise Unsupported("not exactly one solution in the range")
        return Expected(sympy.Integer(found[0]), "value", "sympy:congruence")
    if task.data["sign"] == "positive":
        pos = [r if r > 0 else mod for r in sols]
        value = min(pos) if task.data["pick"] else None
    else:
        neg = [r - mod for r in sols]
        value = max(neg) if not task.data["pick"] else None
    if value is None:
        raise Unsupported("no extreme solution in that direction")
    return Expected(sympy.Integer(value), "value", "sympy:congruence")


# -- gcd, lcm, divisors, primes ----------------------------------------------------------

_LIST = rf"(?P<list>{NUMBER}(?:\s*,\s*{NUMBER})*,?\s*(?:and|,)\s*{NUMBER})"


def _gcd_lcm(q: str) -> Task | None:
    m = _full(
        rf"{_ASK} the (?P<kind>greatest common (?:divisor|factor)|gcd|gcf|least common multiple|lcm) of {_LIST}",
        q,
    )
    if not m:
        return None
    items = re.findall(NUMBER, m.group("list").replace(" and ", ", "))
    kind = (
        "gcd"
        if m.group("kind").lower().startswith(("greatest", "gcd", "gcf"))
        else "lcm"
    )
    return Task("nt-gcd", m.group("list"), data={"items": items, "kind": kind})


def _gcd_value(task: Task) -> Expected:
    nums = [int_value(x) for x in task.data["items"]]
    if len(nums) < 2 or any(n == 0 for n in nums):
        raise Unsupported("need two or more non-zero integers")
    fn = sympy.gcd if task.data["kind"] == "gcd" else sympy.lcm
    value = nums[0]
    for n in nums[1:]:
        value = fn(value, n)
    return Expected(sympy.Integer(abs(value)), "value", f"sympy:{task.data['kind']}")


_POS = r"(?:positive|positive integer|positive whole[- ]number|whole[- ]number|natural[- ]number) "
_N = rf"(?P<n>{NUMBER})"


def _divisors(q: str) -> Task | None:
    what = None
    m = _full(
        rf"how many (?:distinct )?{_POS}(?:divisors|factors) does {_N} have", q
    ) or _full(
        rf"{_ASK} the number of (?:distinct )?{_POS}(?:divisors|factors) of {_N}", q
    )
    if m:
        what = "count"
    else:
        m = _full(
            rf"{_ASK} the sum of (?:all )?(?:of )?the (?P<proper>proper )?(?:{_POS})?(?:divisors|factors) of {_N}",
            q,
        )
        if m and (
            m.group("proper") or re.search(r"positive|whole|natural", m.group(0), re.I)
        ):
            what = "proper" if m.group("proper") else "sum"
    if what is None:
        return None
    return Task("nt-divisors", m.group("n"), data={"n": m.group("n"), "what": what})


def _primes(q: str) -> Task | None:
    m = _full(
        rf"{_ASK} the (?P<ext>largest|greatest|smallest|least) prime (?:factor|divisor) of {_N}",
        q,
    )
    if m:
        what = "max" if m.group("ext").lower() in {"largest", "greatest"} else "min"
    else:
        m = _full(
            rf"how many (?:distinct|different) prime (?:factors|divisors) does {_N} have",
            q,
        ) or _full(
            rf"{_ASK} the number of (?:distinct|different) prime (?:factors|divisors) of {_N}",
            q,
        )
        what = "count"
        if not m:
            m = _full(
                rf"{_ASK} the sum of the (?P<d>distinct |different )?prime (?:factors|divisors) of {_N}",
                q,
            )
            what = "sum" if m and m.group("d") else "sum?"
    if not m:
        return None
    return Task("nt-primes", m.group("n"), data={"n": m.group("n"), "what": what})


def _n(task: Task) -> int:
    n = int_value(task.data["n"])
    if not 1 <= n <= MAX_FACTOR:
        raise Unsupported("the number is out of range")
    return n


def _divisors_value(task: Task) -> Expected:
    n, what = _n(task), task.data["what"]
    if what == "count":
        value = sympy.divisor_count(n)
    elif what == "sum":
        value = sympy.divisor_sigma(n)
    else:
        value = sympy.divisor_sigma(n) - n
    return Expected(sympy.Integer(value), "value", "sympy:divisors")


def _primes_value(task: Task) -> Expected:
    n, what = _n(task), task.data["what"]
    factors = sympy.factorint(n)
    if not factors:
        raise Unsupported("1 has no prime factors")
    if what == "max":
        value = max(factors)
    elif what == "min":
        value = min(factors)
    elif what == "count":
        value = len(factors)
    elif what == "sum" or all(e == 1 for e in factors.values()):
        value = sum(
            factors
        )  # "sum of the prime factors" is unambiguous when squarefree
    else:
        raise Unsupported("with or without repetition? the question does not say")
    return Expected(sympy.Integer(value), "value", "sympy:prime-factors")


HANDLERS = {
    "nt-remainder": _remainder_value,
    "nt-inverse": _inverse_value,
    "nt-congruence": _congruence_value,
    "nt-gcd": _gcd_value,
    "nt-divisors": _divisors_value,
    "nt-primes": _primes_value,
    **DIGIT_HANDLERS,
}

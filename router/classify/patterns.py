"""Case-insensitive patterns that match case-sensitively over case-folded text.

CPython's ``re`` folds case at every position of every branch it tries under
``IGNORECASE``, which makes the rules' big word alternations 2-4x slower than the
same pattern run case-sensitively. A :class:`Rule` written with ``re.I`` therefore
matches without ``re.I`` over the text's ``casefold()`` (computed once per text by
:class:`ScanText`). The rare text whose folding is not one character for one
character (``ß`` -> ``ss``, ``İ`` -> ``i̇``) gets the ``re.I`` pattern over the text
itself, compiled on first need. Either way match positions index the original text.

A case-sensitive rule may also name what every match of it contains (``needs``, a
small pattern such as a character class): a text without it is answered at once,
without trying each branch at each position. Most requests are plain prose, and the
code-syntax and equation rules are the costliest to run over a text they miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Rule", "ScanText"]


@dataclass(frozen=True, slots=True)
class ScanText:
    """A text and its case-folded twin, aligned character for character.

    ``folded`` is ``None`` when folding changes the length; rules then fall back to
    ``re.IGNORECASE`` over ``raw``.
    """

    raw: str
    folded: str | None

    @classmethod
    def of(cls, text: str) -> ScanText:
        folded = text.casefold()
        return cls(text, folded if len(folded) == len(text) else None)

    def __getitem__(self, part: slice) -> ScanText:
        folded = None if self.folded is None else self.folded[part]
        return ScanText(self.raw[part], folded)


def _unfolded_literals(source: str) -> list[str]:
    """Characters of ``source`` that ``casefold()`` changes (escapes and ``(?P``
    aside)."""
    changed, escaped = [], False
    for i, char in enumerate(source):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.casefold() != char:
            if not (char == "P" and source[i - 2 : i] == "(?"):
                changed.append(char)
    return changed


class Rule:
    """A compiled pattern whose ``search``, ``finditer`` and ``count`` read a
    :class:`ScanText`.

    ``needs``: a pattern that finds something in every text ``source`` matches in
    (every branch of ``source`` contains one of its characters); a text it finds
    nothing in has no match, found without running ``source``.

    Raises:
        ValueError: a case-insensitive ``source`` spells a literal that case folding
            changes (an upper-case letter, ``ß``, ``ς``): over folded text that
            branch could never match, so it must be written folded. Or ``needs`` is
            given for a case-insensitive rule (it reads the text as it is).
    """

    __slots__ = ("_compiled", "_folded", "flags", "needs", "source")

    def __init__(
        self, source: str, flags: int = 0, *, needs: str | None = None
    ) -> None:
        self.source, self.flags = source, flags
        self._compiled: re.Pattern[str] | None = None
        self._folded: re.Pattern[str] | None = None
        self.needs = None if needs is None else re.compile(needs)
        if needs is not None and flags & re.IGNORECASE:
            raise ValueError("needs= is for case-sensitive rules")
        if flags & re.IGNORECASE:
            changed = _unfolded_literals(source)
            if changed:
                raise ValueError(
                    f"case-insensitive rule spells {''.join(sorted(set(changed)))!r}; "
                    "write its literals case-folded"
                )
            self._folded = re.compile(source, flags & ~re.IGNORECASE)
        else:
            self._compiled = re.compile(source, flags)

    @property
    def pattern(self) -> re.Pattern[str]:
        """``source`` compiled with ``flags``. A caseless rule compiles it on first
        use: only a text whose folding changes its length needs it, and compiling
        the rules is most of their module's import time."""
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled

    def _pick(self, text: ScanText) -> tuple[re.Pattern[str], str]:
        if self._folded is not None and text.folded is not None:
            return self._folded, text.folded
        return self.pattern, text.raw

    def _absent(self, text: ScanText) -> bool:
        return self.needs is not None and self.needs.search(text.raw) is None

    def search(self, text: ScanText) -> re.Match[str] | None:
        """The first match; its positions index ``text.raw`` (read text from there)."""
        if self._absent(text):
            return None
        pattern, view = self._pick(text)
        return pattern.search(view)

    def finditer(self, text: ScanText) -> Iterator[re.Match[str]]:
        """Every non-overlapping match; positions index ``text.raw``."""
        if self._absent(text):
            return iter(())
        pattern, view = self._pick(text)
        return pattern.finditer(view)

    def count(self, text: ScanText) -> int:
        """How many non-overlapping matches."""
        if self._absent(text):
            return 0
        pattern, view = self._pick(text)
        return len(pattern.findall(view))

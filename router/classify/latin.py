"""Short-text evidence for Latin-script languages: function words and letters.

n-gram language ID is unreliable on a handful of words ("Was bedeutet Rhodophyta?"
reads as English to it, and so does "hola, ¿qué tal?"). Short questions are exactly
where two cheaper signals are sharp: the closed-class words every sentence needs
(articles, pronouns, question words, auxiliaries) and letters that only a few
languages write (ß, ñ, ¿, ș, đ, ơ, ł, ř, ő...). :func:`latin_evidence` counts both per
language; :mod:`qwen_router.classify.language` adds them to py3langid's log-odds.

A word or letter shared by several languages gives each of them an equal share of
one vote, so "a" or "é" say little and "the", "qué" or "ß" say a lot.
"""

from __future__ import annotations

import functools
from collections import Counter

__all__ = ["FUNCTION_WORDS", "LATIN_LANGUAGES", "latin_evidence"]

# Closed-class words (and a few greetings) per language, lower case.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the a an of to in on at by for with from and or but not no is are was "
        "were be been being am do does did have has had will would can could should "
        "may might must shall this that these those it its i you he she we they me "
        "him her us them my your his our their what which who whom whose when where "
        "why how if then than there here as so about into over after before under "
        "between all any each every some many much more most other such only also "
        "just very please give tell write make find list describe explain name hello "
        "hi thanks thank yes",
        "de": "der die das den dem des ein eine einen einem einer und ist sind war "
        "waren nicht kein keine was wer wie wo wann warum welche welcher welches "
        "wieso woher wohin im zu zum zur mit von vom für auf aus bei nach sich auch es "
        "ich du er sie wir ihr mein dein sein bedeutet heißt gibt hat haben wurde "
        "wurden kann können man oder aber wenn dass nur noch schon sehr viel viele "
        "hallo danke bitte guten tag über unter",
        "fr": "le la les un une des du de et est sont ce cette ces qui que quoi quel "
        "quelle quels quelles où comment pourquoi quand combien dans pour avec sur pas "
        "ne il elle nous vous ils elles je tu au aux son sa ses leur été fait faire "
        "bonjour merci oui non très c'est qu'est quelle",
        "es": "el la los las un una unos unas del y es son está están qué que quién "
        "quiénes cómo dónde cuándo cuál cuáles cuánto cuántos cuántas por para con en "
        "se su sus no lo al hola tal estás estoy muy gracias buenos buenas días hoy "
        "fue era hay también pero",
        "pt": "o a os as um uma do da dos das e é são está estão que quem como onde "
        "quando qual quais quanto quantos por para com em no na nos nas não se seu sua "
        "foi olá obrigado obrigada você muito também mas",
        "it": "il lo la gli le un una di del della dei delle e è sono che chi come dove "
        "quando quale quali quanto quanti per con in non si ciao grazie perché molto "
        "anche ma nel nella cosa",
        "nl": "de het een van en is zijn wat wie hoe waar wanneer waarom niet op voor "
        "met dat die er ik je jij hij zij wij hallo bedankt welke heeft hebben",
        "ro": "și si în este sunt care ce cine unde când cum de la pe cu un o din nu "
        "se a fost al ale lui mai pentru sau dar ei ea cel cea",
        "vi": "là của và có không được những các một này người trong cho với gì nào "
        "đâu bao nhiêu ai khi sao thế năm tại đã đến từ về ở bị cũng như",
        "tr": "bir ve bu da de ne nedir nasıl neden nerede kim hangi için ile mi mı mu "
        "mü olan çok daha en gibi değil var yok ki şu o",
        "sw": "na ya wa za la kwa ni katika je nini nani wapi lini vipi gani hii huu "
        "hiyo kama lakini au sana habari",
        "id": "yang dan di ke dari ini itu apa siapa bagaimana mengapa kapan dimana "
        "berapa untuk dengan tidak adalah akan ada",
        "pl": "i w z na nie się jest to co jak gdzie kiedy dlaczego który która które "
        "czy dla od do po jaki jaka są",
        "cs": "a v na je se to co jak kde kdy proč který která není jsou byl",
        "sv": "och är en ett det som vad vem hur var när varför inte på för med till "
        "av jag",
        "da": "og er en et det som hvad hvem hvordan hvor hvornår hvorfor ikke på for "
        "med til af jeg",
        "no": "og er en et det som hva hvem hvordan hvor når hvorfor ikke på for med "
        "til av jeg",
        "fi": "ja on ei se mikä kuka miten missä milloin miksi ovat että",
        "hu": "a az és is egy hogy nem mi ki hogyan hol mikor miért van vagy",
        "ca": "el la els les i és que com on quan per amb això",
        "tl": "ang ng mga sa na at ay ano sino paano saan kailan bakit",
    }.items()
}
LATIN_LANGUAGES: tuple[str, ...] = tuple(FUNCTION_WORDS)

# Letters (and the Spanish inverted marks) written by only a few languages.
_LETTERS: dict[str, tuple[str, ...]] = {
    "ß": ("de",),
    "ñ¿¡": ("es",),
    "ãõ": ("pt", "vi"),
    "œ": ("fr",),
    "ëêûùÿ": ("fr",),
    "ç": ("fr", "pt", "tr", "ca"),
    "ìò": ("it", "vi"),
    "ăâî": ("ro", "vi"),
    "șțşţ": ("ro", "tr"),
    "đơư": ("vi",),
    "ıİğ": ("tr",),
    "łąężśźćń": ("pl",),
    "řěů": ("cs",),
    "ďťň": ("cs",),
    "æø": ("da", "no"),
    "å": ("sv", "da", "no"),
    "őű": ("hu",),
    "ŀ": ("ca",),
    "äö": ("de", "sv", "fi", "tr"),
    "ü": ("de", "tr", "hu"),
    "áéíóú": ("es", "pt", "it", "fr", "ca", "cs", "hu", "vi"),
    "èà": ("fr", "it", "ca", "vi"),
}
_VIETNAMESE_BLOCK = (0x1EA0, 0x1EF9)


@functools.lru_cache(maxsize=1)
def _word_owners() -> dict[str, tuple[str, ...]]:
    owners: dict[str, list[str]] = {}
    for lang, words in FUNCTION_WORDS.items():
        for w in words:
            owners.setdefault(w, []).append(lang)
    return {w: tuple(ls) for w, ls in owners.items()}


@functools.lru_cache(maxsize=1)
def _letter_owners() -> dict[str, tuple[str, ...]]:
    return {ch: langs for chars, langs in _LETTERS.items() for ch in chars}


def latin_evidence(words: list[str], text: str) -> tuple[Counter[str], Counter[str]]:
    """Function-word votes and letter votes per language for ``words`` of ``text``.

    ``words`` are the lower-cased Latin words; ``text`` is scanned for marks such as
    ``¿`` that are not part of a word. Each word votes once for its letters (its
    rarest distinctive letter), so a long word with three accents counts once.
    """
    owners = _word_owners()
    letters = _letter_owners()
    fw: Counter[str] = Counter()
    ch: Counter[str] = Counter()
    for w in words:
        if len(w) < 2:
            continue  # one letter: a variable, an initial, or too common to tell
        langs = owners.get(w)
        if langs:
            for lang in langs:
                fw[lang] += 1 / len(langs)
        if w.isascii():
            continue  # distinctive letters and the Vietnamese block: all non-ASCII
        best: tuple[str, ...] | None = None
        for c in w:
            if _VIETNAMESE_BLOCK[0] <= ord(c) <= _VIETNAMESE_BLOCK[1]:
                best = ("vi",)
                break
            own = letters.get(c)
            if own and (best is None or len(own) < len(best)):
                best = own
        if best:
            for lang in best:
                ch[lang] += 1 / len(best)
    for mark in "¿¡":
        if mark in text:
            ch["es"] += 1.0
    return fw, ch

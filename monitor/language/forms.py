"""Word forms: every inflected form of a base form, so a rule's plain word matches them all.

Russian and Ukrainian come from pymorphy3 and its OpenCorpora (ru) and VESUM-based (uk)
dictionaries; English forms are made by rule (``_english``: a dictionary would cost 60 MB
for a language that inflects this little). All of a word's dictionary analyses count, not only
the likeliest (pymorphy3's first parse of "танками" is танок, the dance): a word is a base
form when any known analysis has it as its normal form, and its forms are the union of
those analyses' paradigms. Unknown words (names, transliterations) get no forms and match
as written. Russian dictionaries fold ё into е on lookup, and so does the rule engine.

Dictionaries load on first use (about 0.1 s and 40 MB for both Cyrillic ones), once per
process, and answers are cached: rules ask at compile time only, documents never.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CYRILLIC = ("ru", "uk")
_NAMES = {"Geox", "Name", "Surn", "Patr", "Orgn", "Trad"}  # pymorphy3's proper-name grammemes
LANGUAGES = ("en", *CYRILLIC)
_LOCK = threading.Lock()


def _plain(word: str) -> str:
    return word.lower().replace("ё", "е").replace("ʼ", "'").replace("’", "'")


@functools.cache
def _analyzer(lang: str) -> Any:
    import pymorphy3

    with _LOCK:  # two threads compiling rules at start-up load one dictionary, not two
        return pymorphy3.MorphAnalyzer(lang=lang)


def _is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)


@dataclass(frozen=True)
class Analysis:
    """What the dictionaries say of one word."""

    forms: frozenset[str]  # every form of the paradigms it is the base form of (itself too)
    base_forms: tuple[str, ...]  # the base forms of its known analyses, likeliest first
    related: frozenset[str] = frozenset()  # every form of every paradigm it belongs to
    common: bool = False  # known as a common word, not only as a name (мир: peace)
    person: bool = False  # known as a given name or surname (Артем, Лида) and not as a place

    @property
    def known(self) -> bool:
        return bool(self.base_forms)

    @property
    def is_base(self) -> bool:
        return bool(self.forms)


@functools.lru_cache(maxsize=50_000)
def analyse(word: str) -> Analysis:
    """The forms of ``word`` (lower case) if it is a base form in English, Russian or
    Ukrainian, and the base forms it may be an inflection of."""
    word = _plain(word)
    if _is_cyrillic(word):
        return _cyrillic(word)
    if word.isascii() and word.isalpha() and len(word) >= 3:
        return _english(word)
    return Analysis(frozenset(), ())


def _cyrillic(word: str) -> Analysis:
    forms: set[str] = set()
    related: set[str] = set()
    bases: list[str] = []
    common = False
    tags: set[str] = set()
    for lang in CYRILLIC:
        for parse in _analyzer(lang).parse(word):
            if not parse.is_known:
                continue
            grammemes = set(parse.tag.grammemes)
            tags |= grammemes
            common = common or not (_NAMES & grammemes)
            base = _plain(parse.normal_form)
            bases.append(base)
            paradigm = {_plain(f.word) for f in parse.lexeme}
            related |= paradigm
            if base == word:
                forms |= paradigm
    person = bool(tags & {"Name", "Surn", "Patr"}) and "Geox" not in tags
    common = common and "Geox" not in tags  # the Ukrainian dictionary tags no place names
    return Analysis(
        frozenset(forms), tuple(dict.fromkeys(bases)), frozenset(related), common, person
    )


def _english(word: str) -> Analysis:
    """English inflects little and regularly: a word's forms are made by rule (plural and
    third person -s/-es/-ies, past -ed with doubling, -ing), with the irregular verbs a
    desk's rules use; a plural stands for its singular's forms too ("troops": troop)."""
    forms = set(_inflect(word))
    singular = _singular(word)
    if singular:
        forms |= set(_inflect(singular))
    return Analysis(frozenset(forms), (singular or word,), frozenset(forms), False)


IRREGULAR = {
    "withdraw": ("withdrew", "withdrawn"), "draw": ("drew", "drawn"), "send": ("sent",),
    "leave": ("left",), "fly": ("flew", "flown"), "go": ("went", "gone"), "take": ("took", "taken"),
    "bring": ("brought",), "build": ("built",), "fight": ("fought",), "hold": ("held",),
    "lead": ("led",), "shoot": ("shot",), "strike": ("struck",), "seize": ("seized",),
    "run": ("ran",), "give": ("gave", "given"), "see": ("saw", "seen"),
    "drive": ("drove", "driven"),
    "man": ("men",), "woman": ("women",), "serviceman": ("servicemen",),
    "servicewoman": ("servicewomen",), "child": ("children",),
}  # fmt: skip
_CVC = re.compile(r"[^aeiou][aeiou][bdgklmnprt]$")


def _inflect(word: str) -> list[str]:
    if word.endswith("man") and word != "man":
        return [word, word[:-3] + "men"]
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        s, ed = word[:-1] + "ies", word[:-1] + "ied"
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        s, ed = word + "es", word + "ed"
    else:
        s, ed = word + "s", (word + "d" if word.endswith("e") else word + "ed")
    ing = (word[:-1] if word.endswith("e") and not word.endswith("ee") else word) + "ing"
    found = [word, s, ed, ing, *IRREGULAR.get(word, ())]
    if _CVC.search(word) and len(word) <= 6:  # stop: stopped, stopping (never shown: harmless)
        found += [word + word[-1] + "ed", word + word[-1] + "ing"]
    return found


def _singular(word: str) -> str | None:
    """The singular a plural stands for, when it plainly is one (troops, brigades, forces)."""
    if len(word) <= 4 or word.endswith(("ss", "us", "is", "ics")):
        return None
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return None


def forms_of(word: str, in_phrase: bool = False) -> frozenset[str]:
    """Every form a plain rule word matches: the forms of the paradigms it is the base form
    of, or itself alone. In a phrase ("военные сборы") words stand in the forms the phrase
    needs, so each matches every form of every paradigm it belongs to."""
    analysis = analyse(word)
    found = analysis.related if in_phrase else analysis.forms
    return found or frozenset({_plain(word)})


def suggestions(words: Iterable[str]) -> dict[str, str]:
    """For each word that is no base form in any dictionary, what to say about it."""
    said = {}
    for word in words:
        analysis = analyse(word)
        if analysis.is_base:
            continue
        if analysis.known:
            options = [b for b in analysis.base_forms if b != _plain(word)][:3]
            said[word] = f"did you mean {_either(options)}? (a base form matches all its forms)"
        else:
            said[word] = "not a known word in English, Russian or Ukrainian: it matches as written"
    return said


def _either(options: list[str]) -> str:
    if len(options) == 1:
        return options[0]
    return ", ".join(options[:-1]) + f" or {options[-1]}"

"""Anchors: what two reports of one event share whatever their language.

- figures, normalised by the language layer: 9,000 / 9 тысяч / 9 тисяч are ``troops:9000``;
- names: places, people, units and weapons, reduced to a consonant skeleton that survives
  transliteration and inflection: Lukashenko / Лукашенко / Лукашенка are ``=lksn``,
  Brest / Бреста / Брестском are ``=brst``, Iskander / Искандер / Іскандер are ``=sknd``.
  A name is a capitalised word that does not open a sentence, or a place the gazetteer
  found (which opens sentences too).

Names that nearly every story of the beat carries (Belarus, Russia, Lukashenko) are left
out: sharing them says nothing about the event. A skeleton is lossy on purpose, so an anchor
alone never links two articles; the embedding has to agree (``monitor.stories.link``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.entities import Facts

SKELETON = 4  # consonants kept: enough to tell names apart, few enough to ignore endings
_CYRILLIC = dict(
    zip(
        "бвгґджзклмнпрстфхцчшщ",
        "bvhhdzzklmnprstfhccss",
        strict=True,
    )
)
# Latin spellings of one sound, longest first: Poczobut / Почобут, Kharkiv / Харків.
_DIGRAPHS = (
    ("shch", "s"),
    ("sch", "s"),
    ("sh", "s"),
    ("ch", "c"),
    ("cz", "c"),
    ("zh", "z"),
    ("kh", "h"),
    ("ph", "f"),
    ("w", "v"),
    ("g", "h"),
    ("x", "ks"),
    ("q", "k"),
)
_LATIN_CONSONANTS = frozenset("bcdfhklmnprstvz")
# The beat's own names: nearly every article names them, so they link nothing.
COMMON = frozenset(
    {
        "blrs",  # Belarus, Беларусь, Білорусь, Belarusian
        "blrc",  # Belorussia
        "krn",  # Ukraine, Украина
        "krns",  # Ukrainian
        "rsn",  # Russian (Russia, Россия are too short to count)
        "rss",  # Россия, российский
        "lksn",  # Lukashenko
        "pcn",  # Putin
        "mns",  # Minsk
        "mnsk",
        "msk",  # Moscow, Москва
        "mskv",
        "krml",  # Kremlin
        "nt",  # NATO
    }
)
# Capitalised in English but no name: days and months.
_CALENDAR = frozenset(
    {
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
    }
)
_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*")
# Numbers written in digits read the same in every language: 20%, 300, S-400, 4-2.
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+|\d+)(?:[.,]\d+)?\s?(%)?")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")


@dataclass(frozen=True)
class Anchors:
    """An article's anchors: figures (``unit:value``) and names (``=skeleton``)."""

    figures: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    def shared(self, other: Anchors) -> list[str]:
        return sorted((self.figures & other.figures) | (self.names & other.names))

    def conflicts(self, other: Anchors) -> list[str]:
        """Figures of one unit that differ and agree on no value: 9,000 troops against
        13,000 troops (two drills), not 9,000 against "9,000 and 2,000"."""
        mine = _by_unit(f for f in self.figures if ":" in f)
        theirs = _by_unit(f for f in other.figures if ":" in f)
        return sorted(u for u in mine.keys() & theirs.keys() if not mine[u] & theirs[u])

    def as_list(self) -> list[str]:
        return sorted(self.figures | self.names)

    @classmethod
    def from_list(cls, values: Iterable[str]) -> Anchors:
        values = list(values)
        return cls(
            frozenset(v for v in values if not v.startswith("=")),
            frozenset(v for v in values if v.startswith("=")),
        )


def _by_unit(figures: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for figure in figures:
        unit, _, value = figure.rpartition(":")
        out.setdefault(unit, set()).add(value)
    return out


def skeleton(word: str) -> str:
    """The first consonants of a word in a Latin spelling common to English, Russian and
    Ukrainian: doubled letters once, vowels (and й, ь, j, y) left out."""
    lowered = word.lower()
    if any("\u0400" <= ch <= "\u04ff" for ch in lowered):
        latin = "".join(_CYRILLIC.get(ch, "") for ch in lowered)
    else:
        latin = lowered
        for spelling, sound in _DIGRAPHS:
            latin = latin.replace(spelling, sound)
        latin = "".join(ch for ch in latin if ch in _LATIN_CONSONANTS)
    out: list[str] = []
    for ch in latin:
        if not out or out[-1] != ch:
            out.append(ch)
        if len(out) == SKELETON:
            break
    return "".join(out)


def names_in(text: str, headline: bool = False) -> set[str]:
    """Skeletons of the capitalised words that do not open a sentence (a headline's first
    word too: headlines open with who or where)."""
    found = set()
    for n, match in enumerate(_WORD.finditer(text)):
        word = match.group()
        if not word[0].isupper():
            continue
        if word.lower() in _CALENDAR:
            continue
        before = text[: match.start()].rstrip(" «\"'“„(")
        opening = not before or _SENTENCE_END.search(before) or before.endswith("\n")
        if opening and not (headline and n == 0):
            continue
        found.add(word)
    return {s for s in map(skeleton, found) if len(s) >= 3 and s not in COMMON}


def numbers_in(text: str) -> set[str]:
    """Numbers in digits, 10 and above (or percentages), not years: ``#300``, ``#20%``."""
    found = set()
    for match in _NUMBER.finditer(text):
        value = int(re.sub(r"\D", "", match.group(1)))
        if match.group(2):
            found.add(f"#{value}%")
        elif value >= 10 and not 1900 <= value <= 2100:
            found.add(f"#{value}")
    return found


def anchors(title: str, lead: str, facts: Facts | None) -> Anchors:
    """The anchors of an article from its title, lead and the language layer's facts."""
    figures = {f"{f.unit}:{f.value:g}" for f in (facts.figures if facts else ())}
    figures |= numbers_in(title) | numbers_in(lead)
    names = names_in(title, headline=True) | names_in(lead)
    places = set()
    for place in facts.places if facts else ():
        name = skeleton(re.split(r"[\s-]", place.name, maxsplit=1)[0])
        names.add(name)
        if name not in COMMON:  # the gazetteer's entry: Odesa and Kyiv are too short
            places.add(f"=@{place.id}")
    kept = {f"={s}" for s in names if len(s) >= 3 and s not in COMMON}
    return Anchors(frozenset(figures), frozenset(kept | places))

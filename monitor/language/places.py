"""Places: settlements, regions and military sites a text names, in English, Russian or
Ukrainian and in any case form (Мозырем, Гомелі, Тереспіля, near Brest), each resolved to
one gazetteer entry with its country and coordinates.

A Cyrillic name matches its dictionary forms and, for names no dictionary knows, its stem
with a case ending (at most three letters, with Ukrainian і/о alternation: Тереспіль,
Тересполя). Latin names match as written. Only capitalised words are names. Homographs go to
the country the text mentions, then to the larger place; a name followed by another
country ("Brest, France") is not ours. Capitalised common words at the start of a sentence
("Мир ждёт") are not taken for places.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from monitor.entities import PlaceRef
from monitor.language.forms import analyse
from monitor.language.gazetteer import SITES, Place, _km, read_places, read_sites

_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ-][^\W\d_]+)*|[.!?]")
# Case endings a name may take (adjectival ones for "Гомельскую область").
ENDINGS = frozenset(
    ("а", "я", "у", "ю", "ом", "ем", "ём", "ою", "ею", "і", "и", "ы", "е", "ой", "ей", "ів",
     "ах", "ях", "ам", "ям", "ами", "ями", "ові", "еві", "ь", "ого", "ому", "ую", "ая", "ое",
     "ые", "ий", "ый", "им", "ым", "ими", "ыми", "ій", "ої")
)  # fmt: skip
_VOWELS = "ьаяоеиыйіїє"
MIN_STEM = 3
MIN_LATIN = 4  # Latin names shorter than this (Bar, Gai, Cop) are mostly English words
# Latin names of places in the table that are, far more often, English words or given names.
NOT_PLACES = {
    "anna", "artem", "artyom", "bogdan", "bohdan", "deep", "chop", "bender", "brod",
    "dolina", "victoria", "sofia", "maria", "olga", "vera", "nadia", "luba", "lida",
    "mira", "polar", "star", "stary", "nova", "novy", "ocean", "oscar", "orange", "lenin",
    "kirov", "frunze", "lesnoy", "pioneer", "sport", "park", "mayak", "zarya", "sever",
    "south", "north", "east", "west", "central", "gorky", "gorki", "banks", "lake", "river",
}  # fmt: skip
# Countries, by their names' stems (matched like place names): for homographs and rules.
COUNTRY_NAMES = {
    "BY": ["Belarus", "Беларусь", "Білорусь", "Белоруссия", "Belorussia"],
    "UA": ["Ukraine", "Украина", "Україна"],
    "PL": ["Poland", "Польша", "Польща"],
    "LT": ["Lithuania", "Литва"],
    "LV": ["Latvia", "Латвия", "Латвія"],
    "EE": ["Estonia", "Эстония", "Естонія"],
    "RU": ["Russia", "Россия", "Росія"],
    "MD": ["Moldova", "Молдова", "Молдавия"],
    "FR": ["France", "Франция", "Франція"],
    "DE": ["Germany", "Германия", "Німеччина"],
    "US": ["United States", "США", "Америка"],
}


def _low(word: str) -> str:
    return word.lower().replace("ё", "е").replace("’", "'").replace("ʼ", "'")


def _stems(name: str) -> set[str]:
    """What an inflected form of a Cyrillic name starts with."""
    low = _low(name)
    stem = low.rstrip(_VOWELS) or low
    found = {low, stem}
    if stem.endswith(("ск", "цк")):  # Бобруйск is Бобруйськ in Ukrainian
        found.add(stem[:-1] + "ь" + stem[-1])
    at = max(stem.rfind("і"), stem.rfind("ї"))
    if at >= len(stem) - 3:  # Тереспіль -> Тересполя, Львів -> Львова, Київ -> Києва
        found |= {stem[:at] + vowel + stem[at + 1 :] for vowel in "оєе"}
    return {s for s in found if len(s) >= MIN_STEM}


class _Token(NamedTuple):
    text: str
    low: str
    start: int
    end: int
    first: bool  # starts a sentence


def _tokens(text: str) -> list[_Token]:
    found, first = [], True
    for m in _WORD.finditer(text):
        if m.group() in ".!?":
            first = True
            continue
        found.append(_Token(m.group(), _low(m.group()), m.start(), m.end(), first))
        first = False
    return found


class PlaceFinder:
    def __init__(self, places: Iterable[Place]) -> None:
        # the first word's stem or form -> (the name's words, place)
        self._index: dict[str, list[tuple[tuple[str, ...], Place]]] = defaultdict(list)
        for place in places:
            for name in place.names:
                words = tuple(_low(w) for w in name.split())
                if not words or (words[0].isascii() and len(words) == 1 and _not_a_name(words[0])):
                    continue
                for key in self._keys(words[0]):
                    self._index[key].append((words, place))
        self._countries: dict[str, str] = {}
        for code, names in COUNTRY_NAMES.items():
            for name in names:
                for key in self._keys(_low(name.split()[0])):
                    self._countries.setdefault(key, code)

    @staticmethod
    def _keys(word: str) -> set[str]:
        if word.isascii():
            return {word}
        return _stems(word)

    def read(self, fields: Iterable[tuple[str, str]]) -> tuple[list[PlaceRef], set[str]]:
        """The places a document's fields ((field, text), ...) name, and the countries it
        names: each field read once."""
        tokens = [(field, _tokens(text)) for field, text in fields]
        named = set().union(*(self._named(t) for _, t in tokens))
        places = [p for field, t in tokens for p in self._places(t, field, named)]
        return places, named | {p.country for p in places}

    def find(self, text: str, field: str = "text") -> list[PlaceRef]:
        """The places ``text`` names."""
        return self.read([(field, text)])[0]

    def _places(self, tokens: list[_Token], field: str, countries: set[str]) -> list[PlaceRef]:
        mentions: list[PlaceRef] = []
        i = 0
        while i < len(tokens):
            found = self._at(tokens, i, countries)
            if found is None:
                i += 1
                continue
            place, size = found
            start, end = tokens[i].start, tokens[i + size - 1].end
            p = place
            mentions.append(
                PlaceRef(p.id, p.name, p.country, p.lat, p.lon, p.kind, field, start, end)
            )
            i += size
        return mentions

    def _named(self, tokens: list[_Token]) -> set[str]:
        """The countries these words name."""
        found = set()
        for token in tokens:
            if token.text[:1].isupper():
                code = self._country(token.low)
                if code:
                    found.add(code)
        return found

    def _country(self, low: str) -> str | None:
        for key in _lookups(low):
            if key in self._countries:
                return self._countries[key]
        return None

    def _at(self, tokens: list[_Token], i: int, countries: set[str]) -> tuple[Place, int] | None:
        token = tokens[i]
        if not token.text[:1].isupper():
            return None
        candidates: dict[str, tuple[Place, int]] = {}
        for key in _lookups(token.low):
            for words, place in self._index.get(key, ()):
                if _fits(words, tokens, i):
                    size = len(words)
                    known = candidates.get(place.id)
                    if known is None or known[1] < size:
                        candidates[place.id] = (place, size)
        if not candidates:
            return None
        size = max(s for _, s in candidates.values())
        best = [p for p, s in candidates.values() if s == size]
        if size == 1 and token.first and _common_word(token.low):
            return None
        if size == 1 and self._names_a_person(tokens, i):
            return None
        after = self._country_after(tokens, i + size)
        if after and all(p.country != after for p in best):
            return None  # "Brest, France": another country's place of that name
        wanted = countries | ({after} if after else set())
        best.sort(key=lambda p: (p.country not in wanted, p.kind == "settlement", -p.population))
        return best[0], size

    def _names_a_person(self, tokens: list[_Token], i: int) -> bool:
        """ "Vladimir Putin", "Владимир Путин": a place's name before another capitalised
        word that is neither a place nor a country is a given name."""
        if i + 1 >= len(tokens):
            return False
        here, after = tokens[i], tokens[i + 1]
        if after.start - here.end > 1 or not after.text[:1].isupper() or after.first:
            return False
        known = any(key in self._index for key in _lookups(after.low))
        return not known and self._country(after.low) is None

    def _country_after(self, tokens: list[_Token], j: int) -> str | None:
        return self._country(tokens[j].low) if j < len(tokens) else None


def _lookups(low: str) -> list[str]:
    """The keys a word may be found under: itself, and itself less a case ending."""
    keys = [low]
    if low.endswith("'s"):
        keys.append(low[:-2])
    for cut in range(1, 4):
        if len(low) - cut >= MIN_STEM and low[-cut:] in ENDINGS:
            keys.append(low[:-cut])
    return keys


def _fits(words: tuple[str, ...], tokens: list[_Token], i: int) -> bool:
    """Does the name's every word match from token ``i`` on (later words by stem)?"""
    if i + len(words) > len(tokens):
        return False
    first = tokens[i].low
    if words[0].isascii() and first not in (words[0], words[0] + "'s"):
        return False
    for offset, word in enumerate(words[1:], 1):
        low = tokens[i + offset].low
        if not (low == word or (not word.isascii() and _same_stem(low, word))):
            return False
    return True


def _not_a_name(word: str) -> bool:
    return len(word) < MIN_LATIN or word in NOT_PLACES


def _same_stem(low: str, word: str) -> bool:
    return any(low.startswith(stem) and len(low) - len(stem) <= 3 for stem in _stems(word))


def _common_word(low: str) -> bool:
    """A word the dictionaries know as something else than a place (мир: peace; Артем, a
    given name)."""
    analysis = analyse(low)
    return analysis.common or analysis.person


def distance_km(a: Place | PlaceRef, b: Place | PlaceRef) -> float:
    """Great-circle distance between two places."""
    return _km(a.lat, a.lon, b.lat, b.lon)


def place_finder(extra_sites: Path | None = None) -> PlaceFinder:
    places = read_places() + read_sites(SITES)
    if extra_sites is not None:
        places += read_sites(extra_sites)
    return PlaceFinder(places)

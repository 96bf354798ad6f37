"""Rule conditions on what the language layer read in an article: a figure ("at least 1,000
troops"), a country it names, a place it names, or a place within N km of one.

    figure:troops>=1000     figure: {unit: troops, at_least: 1000}    (a unit, or a kind:
                                                                       people, formation,
                                                                       equipment)
    country:BY              place: {country: BY}
    place:Brest             place: {name: Brest}
    near:Brest/50           place: {near: Brest, within_km: 50}

A place's name is resolved to its gazetteer entry when the rule loads (an unknown one is a
load error naming it). Conditions narrow what terms found: a rule still needs a word or
phrase to wake it, and they say nothing to the full-text index.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.entities import Facts, PlaceRef
from monitor.language.places import distance_km
from monitor.language.understand import default_understanding

_FIGURE = re.compile(r"^figure:([^\W\d][\w -]*?)(?:>=(\d+(?:[.,]\d+)?))?$", re.IGNORECASE)
_NEAR = re.compile(r"^near:(.+?)/(\d+(?:\.\d+)?)(?:km)?$", re.IGNORECASE)
PREFIXES = ("figure:", "country:", "place:", "near:")


class ConditionError(ValueError):
    """A condition that cannot be read or whose place is unknown."""


class FactView(Protocol):
    def facts(self) -> Facts: ...


@dataclass(frozen=True)
class Condition:
    text: str  # as written: evidence names it
    kind: str  # figure | country | place | near
    unit: str = ""
    at_least: float = 0.0
    country: str = ""
    place: PlaceRef | None = None
    within_km: float = 0.0

    def holds(self, view: Any) -> bool:
        return bool(self.found(view.facts()))

    def found(self, facts: Facts) -> list[tuple[str, int, int]]:
        """Where the facts satisfy it: (field, start, end) of each figure or place."""
        if self.kind == "figure":
            return [
                (f.field, f.start, f.end)
                for f in facts.figures
                if self.unit in (f.unit, f.kind) and f.value >= self.at_least
            ]
        if self.kind == "country":
            places = [(p.field, p.start, p.end) for p in facts.places if p.country == self.country]
            return places or ([("text", 0, 0)] if self.country in facts.countries else [])
        assert self.place is not None
        if self.kind == "place":
            return [(p.field, p.start, p.end) for p in facts.places if p.id == self.place.id]
        return [
            (p.field, p.start, p.end)
            for p in facts.places
            if distance_km(p, self.place) <= self.within_km
        ]

    def need(self) -> None:
        return None

    def iter_terms(self) -> Iterator[Any]:
        return iter(())

    def positive(self, negated: bool = False) -> Iterator[Any]:
        return iter(())

    def conjuncts(self) -> tuple[Condition, ...]:
        return (self,)

    def has_near(self) -> bool:
        return False


def _resolve(name: str, text: str) -> PlaceRef:
    found = default_understanding().place(name.strip())
    if found is None:
        raise ConditionError(f"{text}: {name.strip()!r} is no place the gazetteer knows")
    return found


def parse_condition(text: str) -> Condition:
    """``figure:troops>=1000``, ``country:BY``, ``place:Brest``, ``near:Brest/50``."""
    low = text.strip()
    head = low.split(":", 1)[0].lower()
    if head == "figure":
        m = _FIGURE.match(low)
        if not m:
            raise ConditionError(f"{text}: write figure:UNIT>=N, e.g. figure:troops>=1000")
        return figure(m.group(1), float((m.group(2) or "1").replace(",", ".")), text)
    if head == "country":
        return country(low.split(":", 1)[1], text)
    if head == "place":
        return Condition(text, "place", place=_resolve(low.split(":", 1)[1], text))
    m = _NEAR.match(low)
    if head != "near" or not m:
        raise ConditionError(f"{text}: write near:PLACE/KM, e.g. near:Brest/50")
    return near(m.group(1), float(m.group(2)), text)


def figure(unit: str, at_least: float, text: str) -> Condition:
    units = default_understanding().figures.lexicon.units
    unit = unit.strip().lower()
    if unit not in units:
        raise ConditionError(f"{text}: {unit!r} is no unit or kind of the lexicon ({_list(units)})")
    return Condition(text, "figure", unit=unit, at_least=at_least)


def country(code: str, text: str) -> Condition:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ConditionError(f"{text}: a country is its two-letter code, e.g. BY")
    return Condition(text, "country", country=code)


def near(name: str, within_km: float, text: str) -> Condition:
    if within_km <= 0 or within_km > 5000:
        raise ConditionError(f"{text}: the distance is in km, above 0")
    return Condition(text, "near", place=_resolve(name, text), within_km=within_km)


def place(name: str, text: str) -> Condition:
    return Condition(text, "place", place=_resolve(name, text))


def _list(units: set[str]) -> str:
    return ", ".join(sorted(units))

"""An article's facts (figures, places, countries) as the JSON kept on its row, and the
index string search filters by: "|by|ua|brest|mazyr|" (country codes and place names, lower
case), so "place:Brest" or "country:BY" is one LIKE on every database."""

from __future__ import annotations

from typing import Any

from monitor.entities import Facts, Figure, PlaceRef


def facts_json(facts: Facts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "figures": [
            [f.value, f.unit, f.kind, f.approximate, f.field, f.start, f.end] for f in facts.figures
        ],
        "places": [
            [p.id, p.name, p.country, p.lat, p.lon, p.kind, p.field, p.start, p.end]
            for p in facts.places
        ],
        "countries": list(facts.countries),
    }


def facts_from_json(data: dict[str, Any] | None) -> Facts | None:
    if not data:
        return None
    return Facts(
        tuple(Figure(*row) for row in data.get("figures", [])),
        tuple(PlaceRef(*row) for row in data.get("places", [])),
        tuple(data.get("countries", [])),
    )


def places_index(facts: Facts | None) -> str | None:
    if facts is None:
        return None
    keys = [c.lower() for c in facts.countries] + [p.name.lower() for p in facts.places]
    return "|" + "|".join(dict.fromkeys(keys)) + "|" if keys else None

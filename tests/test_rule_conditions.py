"""Rule conditions on figures and places, in the YAML tree and the query string, on texts
in three languages: they hold as written, explain themselves in evidence, and a condition
that cannot be (an unknown unit or place, a malformed one) is a load error with file and
line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.entities import Document
from monitor.rules import load_rules
from monitor.rules.build import rule_from_file
from monitor.rules.match import Matcher
from monitor.rules.model import RuleFile
from monitor.rules.tree import Rule, TermSyntaxError

WHO = ["troop", "военнослужащий", "військовослужбовець", "tank", "танк"]


def rule(spec: dict[str, Any]) -> Rule:
    return rule_from_file(RuleFile.model_validate({"name": "r", "severity": "low", **spec}), "r")


def fires(r: Rule, title: str, text: str = "") -> bool:
    return bool(Matcher([r]).match(Document(title, text)))


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Russia moves 9,000 troops to the border", True),
        ("Russia moves 900 troops to the border", False),
        ("В учениях примут участие 9 тысяч военнослужащих", True),
        ("До навчань залучено близько 9 тисяч військовослужбовців", True),
        ("Troops arrive", False),  # no figure at all
    ],
)
def test_at_least_a_thousand_troops(title: str, expected: bool) -> None:
    yaml_form = rule({"match": {"any": WHO, "figure": {"unit": "troops", "at_least": 1000}}})
    query_form = rule(
        {"query": "(troop OR военнослужащий OR військовослужбовець) AND figure:troops>=1000"}
    )
    assert fires(yaml_form, title) is expected
    assert fires(query_form, title) is expected


def test_a_kind_of_unit_and_equipment() -> None:
    people = rule({"query": "troop AND figure:people>=100"})
    assert fires(people, "About 300 Chechen fighters and troops arrived")
    tanks = rule({"query": "(tank OR танк) AND figure:tank>=10"})
    assert fires(tanks, "Dozens of tanks were seen")  # approximate counts count
    assert not fires(tanks, "Two tanks were seen")


def test_countries_places_and_distances() -> None:
    belarus = rule({"match": {"any": WHO, "place": {"country": "BY"}}})
    assert fires(belarus, "Troops seen near Mazyr")  # a Belarusian place
    assert fires(belarus, "Troops leave Belarus")  # the country by name
    assert not fires(belarus, "Troops seen near Lviv")
    brest = rule({"query": "troop AND place:Brest"})
    assert fires(brest, "Войска и troops у Бреста")
    assert fires(brest, "Troops near Brest")
    assert not fires(brest, "Troops near Kobryn")
    near = rule({"match": {"any": WHO, "place": {"near": "Brest", "within_km": 60}}})
    assert fires(near, "Troops near Kobryn")  # about 50 km from Brest
    assert not fires(near, "Troops near Pinsk")  # about 170 km
    assert fires(rule({"query": "troop AND near:Брест/200"}), "Troops near Pinsk")


def test_conditions_explain_themselves_in_evidence() -> None:
    r = rule({"query": "troop AND figure:troops>=1000 AND near:Brest/60"})
    [hit] = Matcher([r]).match(
        Document("Exercise begins", "Officials said 9,000 troops gathered near Kobryn on Monday.")
    )
    said = {e.term: e.snippet for e in hit.evidence}
    assert said["figure:troops>=1000"].startswith("Officials said 9,000 troops")
    assert "Kobryn" in said["near:Brest/60"]


def test_negated_conditions_exclude() -> None:
    r = rule({"query": "troop NOT country:UA"})
    assert fires(r, "Troops near Mazyr")
    assert not fires(r, "Troops near Lviv")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("troop AND figure:spectators>=5", "'spectators' is no unit or kind of the lexicon"),
        ("troop AND place:Atlantis", "'Atlantis' is no place the gazetteer knows"),
        ("troop AND near:Brest", "write near:PLACE/KM"),
        ("troop AND country:Belarus", "a country is its two-letter code"),
        ("troop AND figure:>=5", "write figure:UNIT>=N"),
    ],
)
def test_a_condition_that_cannot_be_is_a_syntax_error(query: str, message: str) -> None:
    with pytest.raises(TermSyntaxError, match=message) as error:
        rule({"query": query})
    assert error.value.offset == len("troop AND ")


def test_load_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "name: R\nseverity: low\nmatch:\n  any: [troop]\n  place: {near: Atlantis, within_km: 5}\n",
        encoding="utf-8",
    )
    loaded = load_rules(tmp_path)
    [problem] = [str(p) for p in loaded.problems]
    assert problem.startswith(f"{tmp_path / 'r.yaml'}:5:") and "Atlantis" in problem
    (tmp_path / "r.yaml").write_text(
        "name: R\nseverity: low\nmatch:\n  any: [troop]\n  place: {country: BY, name: Brest}\n",
        encoding="utf-8",
    )
    [problem] = [str(p) for p in load_rules(tmp_path).problems]
    assert "give one of 'country', 'name' or 'near'" in problem

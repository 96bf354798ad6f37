"""Why a rule did not fire, in the words of its tree: the playground, `monitor match
--explain` and the backtest's near misses say it."""

from __future__ import annotations

from typing import Any

from monitor.entities import Document
from monitor.rules.build import rule_from_file
from monitor.rules.explain import explain, near_misses
from monitor.rules.match import Matcher
from monitor.rules.model import RuleFile
from monitor.rules.tree import Rule


def rule(rule_id: str, spec: dict[str, Any]) -> Rule:
    return rule_from_file(
        RuleFile.model_validate({"name": rule_id, "severity": "low", **spec}), rule_id
    )


ZAPAD = rule(
    "zapad",
    {
        "match": {
            "all": [{"any": ["troop", "войско"]}, {"any": ["case:Запад", "zapad"]}],
            "none": ["hockey"],
        }
    },
)
NEAR = rule("near", {"match": {"near": {"terms": [["belarus*"], ["mobilis*"]], "within": 3}}})
BIG = rule("big", {"query": "troop AND figure:troops>=1000"})
SCOPED = rule("scoped", {"languages": ["ru"], "query": "troop"})
WEIGHED = rule("weighed", {"threshold": 3, "match": {"any": ["troop", "tank^2"]}})


def reasons(r: Rule, title: str, text: str = "", language: str | None = None) -> list[str]:
    return explain(Matcher([r]), Document(title, text, language)).get(r.id, [])


def test_the_failing_part_of_the_tree_is_named() -> None:
    said = reasons(ZAPAD, "Войска ушли на запад страны")
    assert said == ["any: none of 'case:Запад', 'zapad' found"]  # "запад", not Запад
    assert reasons(ZAPAD, "Войска идут на учения Запад-2025") == []  # it fires: nothing said
    said = reasons(ZAPAD, "Zapad drills: troops and the hockey team")
    assert said == ["excluded by none: 'hockey' found"]


def test_near_says_what_was_missing_or_too_far() -> None:
    assert reasons(NEAR, "Belarus news") == ["near: none of 'mobilis*' found"]
    far = reasons(NEAR, "Belarus is a country where, the decree says, mobilisation begins")
    assert far == ["near: 'belarus*', 'mobilis*' found, but not within 3 words of each other"]


def test_conditions_scope_and_threshold_are_explained() -> None:
    assert reasons(BIG, "About 300 troops arrived") == [
        "figure:troops>=1000: no such figure (found ≈300 troops)"
    ]
    assert reasons(SCOPED, "Troops arrived", language="en")[0].startswith("out of its scope (ru)")
    assert reasons(WEIGHED, "Troops arrived") == ["score 1 below its threshold 3"]


def test_near_misses_are_the_rules_holding_some_of_their_terms() -> None:
    matcher = Matcher([ZAPAD, NEAR, BIG])
    missed = near_misses(matcher, Document("Troops and a hockey match", ""))
    assert set(missed) == {"zapad", "big"}  # NEAR holds none of its terms: no near miss

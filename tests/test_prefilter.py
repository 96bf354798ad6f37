"""The words a rule needs: shapes for the query forms, and soundness against the matcher on
every shipped rule and every labelled article (a document a rule fires on always holds the
rule's need, read the way a database tokeniser reads it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from monitor.entities import Document
from monitor.rules import compile_rules, load_rules
from monitor.rules.build import rule_from_file
from monitor.rules.model import RuleFile
from monitor.rules.prefilter import Join, Need, Word, prefilter
from monitor.rules.text import fold, prepare
from tests.conftest import REPO

LETTER_RUNS = re.compile(r"[^\W\d_]+")


def need_of(query: str) -> Need | None:
    rule = rule_from_file(
        RuleFile.model_validate({"name": "q", "severity": "info", "query": query}), "q"
    )
    return prefilter(rule.match)


def holds(need: Need, tokens: set[str]) -> bool:
    if isinstance(need, Word):
        return need.text in tokens or (need.prefix and any(t.startswith(need.text) for t in tokens))
    results = [holds(p, tokens) for p in need.parts]
    return all(results) if need.op == "and" else any(results)


def tokens_of(doc: Document) -> set[str]:
    """Letter runs of the folded text: what FTS5 and tsvector index, for letter-only words."""
    return set(LETTER_RUNS.findall(fold(prepare(f"{doc.title} {doc.text}"))))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("exact:troops NEAR/3 exact:armour", Join("and", (Word("troops"), Word("armour")))),
        ("troop* OR військ*", Join("or", (Word("troop", True), Word("військ", True)))),
        ("exact:Belarus AND NOT exercise", Word("belarus")),
        (r"re:/t-\d+/ AND exact:Білорусь", Word("білорусь")),
        ('exact:"border guard*"', Join("and", (Word("border"), Word("guard", True)))),
        ("обов'язок", Join("and", (Word("обов"), Word("язок")))),
        ("exact:Ёлка", Word("елка")),
        (
            "exact:ex-soldier",
            Join("or", (Join("and", (Word("ex"), Word("soldier"))), Word("exsoldier"))),
        ),
    ],
)
def test_needs_of_query_forms(query: str, expected: Need) -> None:
    assert need_of(query) == expected


def test_a_plain_word_needs_one_of_its_forms() -> None:
    need = need_of("танк AND border")
    assert isinstance(need, Join) and need.op == "and"
    tank, border = need.parts
    assert isinstance(tank, Join) and tank.op == "or"
    assert {Word("танк"), Word("танками"), Word("танков")} <= set(tank.parts)
    assert isinstance(border, Join) and {Word("border"), Word("borders")} <= set(border.parts)
    phrase = need_of('"border guard*"')  # the prefix stays a prefix, the other word inflects
    assert isinstance(phrase, Join) and phrase.op == "and"
    assert phrase.parts[1] == Word("guard", True) and Word("borders") in phrase.parts[0].parts


@pytest.mark.parametrize(
    "query",
    [r"re:/t-\d+/", r"re:/x/ OR belarus", "NOT brest", "T-72", "su27 OR belarus"],
)
def test_what_an_index_cannot_answer_narrows_nothing(query: str) -> None:
    assert need_of(query) is None


def test_every_shipped_rule_fires_only_where_its_need_holds() -> None:
    rules = load_rules(REPO / "rules").rules
    items: list[dict[str, Any]] = yaml.safe_load((REPO / "tests/eval/articles.yaml").read_text())
    docs = [Document(i["title"], i["text"], i["lang"]) for i in items]
    docs += [Document(t, t) for r in rules for t in r.examples.match]
    needs = {r.id: prefilter(r.match) for r in rules}
    assert all(needs.values()), "every shipped rule should narrow a search"
    matcher = compile_rules(rules)
    fired = 0
    for doc in docs:
        tokens = tokens_of(doc)
        for hit in matcher.match(doc):
            need = needs[hit.rule_id]
            assert need is not None and holds(need, tokens), (hit.rule_id, doc.title)
            fired += 1
    assert fired > 100

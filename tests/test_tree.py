"""Rule nodes carry their behaviour: a group operator is one entry in ``OPERATORS``, and
evaluation, the search prefilter and the terms all follow it."""

from __future__ import annotations

import pytest

from monitor.entities import Document, Severity
from monitor.rules import compile_rules
from monitor.rules.need import Join, Word, need_any
from monitor.rules.prefilter import prefilter
from monitor.rules.tree import (
    OPERATORS,
    Group,
    Operator,
    Rule,
    all_terms,
    parse_term,
    positive_terms,
)


def rule(match: Group) -> Rule:
    return Rule("r", "R", Severity.low, ("default",), match)


def terms(*texts: str) -> tuple:  # type: ignore[type-arg]
    return tuple(parse_term(t) for t in texts)


def test_the_shipped_operators_hold_as_documented() -> None:
    doc = Document("Troops and tanks", "")
    cases = {
        Group("all", terms("troops", "tanks")): True,
        Group("all", terms("troops", "drones")): False,
        Group("any", terms("drones", "tanks")): True,
        Group("at_least", terms("troops", "tanks", "drones"), 2): True,
        Group("at_least", terms("troops", "tanks", "drones"), 3): False,
        Group("all", (*terms("troops"), Group("none", terms("hockey")))): True,
        Group("all", (*terms("troops"), Group("none", terms("tanks")))): False,
    }
    for node, fires in cases.items():
        assert bool(compile_rules([rule(node)]).match(doc)) is fires, node


def test_a_new_operator_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "exactly one of": what it means, what the index may be asked for; nothing else."""
    exactly_one = Operator(
        "exactly_one", lambda held, _: sum(held) == 1, lambda parts, _: need_any(parts)
    )
    monkeypatch.setitem(OPERATORS, "exactly_one", exactly_one)
    node = Group("exactly_one", terms("exact:tanks", "exact:drones"))  # one form each
    matcher = compile_rules([rule(node)])
    assert matcher.match(Document("Tanks", ""))
    assert not matcher.match(Document("Tanks and drones", ""))
    assert not matcher.match(Document("Troops", ""))
    assert prefilter(node) == Join("or", (Word("tanks"), Word("drones")))
    assert [t.text for t in all_terms(node)] == ["exact:tanks", "exact:drones"]


def test_negation_and_needs_follow_the_operator() -> None:
    node = Group("all", (*terms("troop*"), Group("none", terms("hockey"))))
    assert [t.text for t in positive_terms(node)] == ["troop*"]
    assert prefilter(node) == Word("troop", prefix=True)
    assert prefilter(Group("at_least", terms("a", "b"), 1)) == Join("or", (Word("a"), Word("b")))

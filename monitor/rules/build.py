"""Rule file (validated) -> Rule with its match tree. Every bad term, query and
condition of a file is reported at once (``TermSyntaxErrors``), not one per fix."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from monitor.entities import Severity
from monitor.rules.conditions import Condition, ConditionError, country, figure, near, place
from monitor.rules.model import MatchBlock, NearSpec, PlaceSpec, RuleFile
from monitor.rules.query import parse_query
from monitor.rules.tree import (
    OPERATORS,
    Examples,
    Field,
    Group,
    Near,
    Node,
    Rule,
    Term,
    TermSyntaxError,
    parse_term,
)

DataPath = tuple[str | int, ...]
# The errors of the rule being built: each bad leaf is noted and building goes on.
_ERRORS: ContextVar[list[TermSyntaxError] | None] = ContextVar("rule_errors", default=None)
_NOTHING = Term("", ())  # stands for a bad leaf while the others are checked


class TermSyntaxErrors(TermSyntaxError):
    """Several bad terms in one rule; ``errors`` has each, with its data path."""

    def __init__(self, errors: list[TermSyntaxError]) -> None:
        super().__init__(str(errors[0]), errors[0].path, errors[0].offset)
        self.errors = errors


def _note(error: TermSyntaxError) -> Node:
    errors = _ERRORS.get()
    if errors is None:
        raise error
    errors.append(error)
    return _NOTHING


def rule_from_file(spec: RuleFile, default_id: str, path: Path | None = None) -> Rule:
    """Build the rule; a TermSyntaxError carries the data path of the bad value, and
    ``TermSyntaxErrors`` every one when there are several."""
    errors: list[TermSyntaxError] = []
    token = _ERRORS.set(errors)
    try:
        if spec.query is not None:
            match = _query(spec.query, ("query",), "any")
        else:
            assert spec.match is not None
            match = build_tree(spec.match, ("match",), "any")
    finally:
        _ERRORS.reset(token)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise TermSyntaxErrors(errors)
    examples = spec.examples
    return Rule(
        id=spec.id or default_id,
        name=spec.name,
        severity=Severity[spec.severity],
        notify=spec.notify,
        match=match,
        description=spec.description,
        enabled=spec.enabled,
        languages=frozenset(spec.languages) if spec.languages else None,
        feeds=frozenset(spec.feeds) if spec.feeds else None,
        threshold=spec.threshold,
        examples=Examples(tuple(examples.match), tuple(examples.no_match))
        if examples
        else Examples(),
        path=path,
    )


def build_tree(block: MatchBlock, path: DataPath, inherited: Field) -> Node:
    field: Field = block.field or inherited
    groups: list[Node] = []
    for op in OPERATORS.values():  # the model validated which keys go together
        items = getattr(block, op.key)
        n = getattr(block, op.count) if op.count else 1
        if items is not None and n is not None:
            groups.append(Group(op.name, _items(items, (*path, op.key), field), n))
    if block.near is not None:
        groups.append(_near(block.near, (*path, "near"), field))
    if block.query is not None:
        groups.append(_query(block.query, (*path, "query"), field))
    groups += _conditions(block, path)
    first = groups[0]
    return first if len(groups) == 1 else Group("all", tuple(groups))


def _conditions(block: MatchBlock, path: DataPath) -> list[Node]:
    found: list[Node] = []
    try:
        if block.figure is not None:
            spec = block.figure
            text = f"figure:{spec.unit}>={spec.at_least:g}"
            found.append(figure(spec.unit, spec.at_least, text))
        if block.place is not None:
            found.append(_place(block.place))
    except ConditionError as exc:
        key = "figure" if block.figure is not None and "figure:" in str(exc) else "place"
        found.append(_note(TermSyntaxError(str(exc), (*path, key))))
    return found


def _place(spec: PlaceSpec) -> Condition:
    if spec.country is not None:
        return country(spec.country, f"country:{spec.country}")
    if spec.name is not None:
        return place(spec.name, f"place:{spec.name}")
    assert spec.near is not None and spec.within_km is not None
    return near(spec.near, spec.within_km, f"near:{spec.near}/{spec.within_km:g}")


def _items(items: list[str | MatchBlock], path: DataPath, field: Field) -> tuple[Node, ...]:
    nodes: list[Node] = []
    for index, item in enumerate(items):
        where = (*path, index)
        if isinstance(item, MatchBlock):
            nodes.append(build_tree(item, where, field))
        else:
            nodes.append(_term(item, where, field))
    return tuple(nodes)


def _term(text: str, path: DataPath, field: Field) -> Node:
    try:
        return parse_term(text, field)
    except TermSyntaxError as exc:
        return _note(TermSyntaxError(str(exc), path))


def _near(spec: NearSpec, path: DataPath, field: Field) -> Near:
    operands: list[tuple[Term, ...]] = []
    for index, item in enumerate(spec.terms):
        where = (*path, "terms", index)
        if isinstance(item, str):
            operands.append((_plain(item, where, field),))
        else:
            operands.append(tuple(_plain(t, (*where, i), field) for i, t in enumerate(item)))
    return Near(tuple(operands), spec.within)


def _plain(text: str, path: DataPath, field: Field) -> Term:
    term = _term(text, path, field)
    assert isinstance(term, Term)
    return term


def _query(text: str, path: DataPath, field: Field) -> Node:
    try:
        return parse_query(text, field)
    except TermSyntaxError as exc:
        return _note(TermSyntaxError(str(exc), path, exc.offset))

"""A rule as the engine sees it: metadata plus a boolean tree over parsed terms."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.entities import Severity
from monitor.rules.model import MatchBlock, RuleFile
from monitor.rules.text import tokenize

Op = Literal["all", "any", "none"]


class TermSyntaxError(ValueError):
    """A term that cannot be compiled; the loader adds file and line."""


@dataclass(frozen=True)
class Term:
    """A word, ``prefix*`` or phrase: a sequence of (normalised token, is_prefix)."""

    text: str
    parts: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Group:
    op: Op
    children: tuple[Node, ...]


Node = Term | Group


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    notify: tuple[str, ...]
    match: Node
    description: str = ""
    enabled: bool = True
    path: Path | None = None


def parse_term(text: str) -> Term:
    """``troop*``, ``border guard``, ``"Belarus border"``; a ``*`` only ends a word."""
    body = text.strip()
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1]
    if '"' in body:
        raise TermSyntaxError(f"term {text!r}: unbalanced or inner quote")
    parts: list[tuple[str, bool]] = []
    for piece in body.split():
        prefix = piece.endswith("*")
        core = piece.rstrip("*")
        if "*" in core:
            raise TermSyntaxError(f"term {text!r}: '*' is allowed only at the end of a word")
        tokens = [t.norm for t in tokenize(core)]
        if not tokens:
            raise TermSyntaxError(f"term {text!r}: no letters or digits to match")
        parts.extend((tok, False) for tok in tokens[:-1])
        parts.append((tokens[-1], prefix))
    if not parts:
        raise TermSyntaxError("empty term")
    return Term(text=text, parts=tuple(parts))


def build_tree(block: MatchBlock, path: tuple[str | int, ...] = ("match",)) -> Group:
    """MatchBlock -> Group; a TermSyntaxError carries the data path in ``args[1]``."""
    groups: list[Node] = []
    for op in ("all", "any", "none"):
        items = getattr(block, op)
        if items is None:
            continue
        children: list[Node] = []
        for index, item in enumerate(items):
            where = (*path, op, index)
            if isinstance(item, MatchBlock):
                children.append(build_tree(item, where))
                continue
            try:
                children.append(parse_term(item))
            except TermSyntaxError as exc:
                raise TermSyntaxError(str(exc), where) from None
        groups.append(Group(op, tuple(children)))
    first = groups[0]
    return first if len(groups) == 1 and isinstance(first, Group) else Group("all", tuple(groups))


def rule_from_file(spec: RuleFile, default_id: str, path: Path | None = None) -> Rule:
    return Rule(
        id=spec.id or default_id,
        name=spec.name,
        severity=Severity[spec.severity],
        notify=spec.notify,
        match=build_tree(spec.match),
        description=spec.description,
        enabled=spec.enabled,
        path=path,
    )


def evaluate(node: Node, found: set[Term] | frozenset[Term]) -> bool:
    if isinstance(node, Term):
        return node in found
    if node.op == "all":
        return all(evaluate(child, found) for child in node.children)
    if node.op == "any":
        return any(evaluate(child, found) for child in node.children)
    return not any(evaluate(child, found) for child in node.children)


def positive_terms(node: Node, negated: bool = False) -> Iterator[Term]:
    """Terms whose presence can make the rule fire (not under an odd number of 'none')."""
    if isinstance(node, Term):
        if not negated:
            yield node
        return
    for child in node.children:
        yield from positive_terms(child, negated ^ (node.op == "none"))

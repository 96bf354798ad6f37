"""What a document must contain for a rule to fire, in a form a full-text index can answer.

``prefilter(node)`` turns a match tree into a ``Need``: words (maybe prefixes) joined by AND
and OR. It is a necessary condition, never a sufficient one: every document the rule fires on
satisfies it, so a full-text index may narrow a search to the documents that do, and the
matcher then decides. Where a part of the tree cannot be put that way (a regex, a ``none``
group, a word the index tokenises differently from the rules) that part is left out of an
AND, and an OR with such a part is left out whole; ``None`` means nothing narrows.

Only words of letters go in: database tokenisers split digits, hyphens and underscores in
their own ways (PostgreSQL reads ``T-72`` as ``t`` and ``-72``), so words with them are left
to the matcher. Words with apostrophes (``обов'язок``) go in as their letter runs, which
both tokenisers make separate words of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.rules.tree import Near, Node, Pattern, Term


@dataclass(frozen=True)
class Word:
    text: str  # folded, letters only
    prefix: bool = False


@dataclass(frozen=True)
class Join:
    op: Literal["and", "or"]
    parts: tuple[Need, ...]


Need = Word | Join


def prefilter(node: Node) -> Need | None:
    if isinstance(node, Term):
        return _any([_pattern(p) for p in node.patterns])
    if isinstance(node, Near):
        return _all([_any([prefilter(t) for t in alternatives]) for alternatives in node.operands])
    if node.op == "all":
        return _all([prefilter(child) for child in node.children])
    if node.op == "none" or (node.op == "at_least" and node.n < 1):
        return None
    return _any([prefilter(child) for child in node.children])  # any, at_least N >= 1


def _pattern(pattern: Pattern) -> Need | None:
    if pattern.regex is not None:
        return None
    found: list[Need | None] = []
    for word, prefix in pattern.parts:
        runs = word.split("'")
        for i, run in enumerate(runs):
            found.append(Word(run, prefix and i == len(runs) - 1) if run.isalpha() else None)
    return _all(found)


def _all(parts: list[Need | None]) -> Need | None:
    known = tuple(dict.fromkeys(p for p in parts if p is not None))
    if not known:
        return None
    return known[0] if len(known) == 1 else Join("and", known)


def _any(parts: list[Need | None]) -> Need | None:
    if not parts or any(p is None for p in parts):
        return None
    unique = tuple(dict.fromkeys(p for p in parts if p is not None))
    return unique[0] if len(unique) == 1 else Join("or", unique)

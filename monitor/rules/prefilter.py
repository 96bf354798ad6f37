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

from monitor.rules.need import Join, Need, Word
from monitor.rules.tree import Node

__all__ = ["Join", "Need", "Word", "prefilter"]


def prefilter(node: Node) -> Need | None:
    return node.need()

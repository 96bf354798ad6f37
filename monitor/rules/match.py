"""The matching engine: every rule against one document in one pass over its tokens.

Terms are indexed by their first token (exact) or first-token prefix, so the work per
document grows with its length and the number of term occurrences, not with the rule count.
Rules are then evaluated only when one of their positive terms occurred.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.entities import Document, Evidence, Hit
from monitor.rules.text import Token, tokenize
from monitor.rules.tree import Rule, Term, evaluate, positive_terms

SNIPPET_RADIUS = 100
MAX_EVIDENCE = 5
FIELDS = ("title", "text")


@dataclass(frozen=True)
class Occurrence:
    term: Term
    field: str
    start: int
    end: int


class Matcher:
    """Compiled rules. Build once per rule set (``compile``), call ``match`` per document."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(r for r in rules if r.enabled)
        self._exact: dict[str, list[Term]] = defaultdict(list)
        self._prefix: dict[str, list[Term]] = defaultdict(list)
        self._rules_by_term: dict[Term, list[int]] = defaultdict(list)
        for index, rule in enumerate(self.rules):
            for term in set(positive_terms(rule.match)):
                self._rules_by_term[term].append(index)
            for term in _all_terms(rule.match):
                first, is_prefix = term.parts[0]
                bucket = self._prefix if is_prefix else self._exact
                if term not in bucket[first]:
                    bucket[first].append(term)
        self._prefix_lengths = sorted({len(p) for p in self._prefix})

    def find(self, doc: Document) -> list[Occurrence]:
        found: list[Occurrence] = []
        for field in FIELDS:
            text = getattr(doc, field)
            tokens = tokenize(text)
            for i, token in enumerate(tokens):
                for term in self._candidates(token.norm):
                    end = _match_at(term, tokens, i)
                    if end is not None:
                        found.append(Occurrence(term, field, token.start, end))
        return found

    def _candidates(self, norm: str) -> list[Term]:
        terms = list(self._exact.get(norm, ()))
        for length in self._prefix_lengths:
            if length > len(norm):
                break
            terms.extend(self._prefix.get(norm[:length], ()))
        return terms

    def match(self, doc: Document) -> list[Hit]:
        occurrences = self.find(doc)
        first: dict[Term, Occurrence] = {}
        for occ in occurrences:
            first.setdefault(occ.term, occ)
        found = frozenset(first)
        candidates = sorted({i for t in found for i in self._rules_by_term.get(t, ())})
        hits = []
        for index in candidates:
            rule = self.rules[index]
            if evaluate(rule.match, found):
                hits.append(_hit(rule, doc, [first[t] for t in _ordered_positive(rule, found)]))
        return hits


def compile_rules(rules: Iterable[Rule]) -> Matcher:
    return Matcher(rules)


def _all_terms(node: object) -> Iterable[Term]:
    if isinstance(node, Term):
        yield node
        return
    for child in getattr(node, "children", ()):
        yield from _all_terms(child)


def _match_at(term: Term, tokens: Sequence[Token], i: int) -> int | None:
    """End offset of ``term`` starting at token ``i``, or None."""
    if i + len(term.parts) > len(tokens):
        return None
    for offset, (part, is_prefix) in enumerate(term.parts):
        norm = tokens[i + offset].norm
        if not (norm.startswith(part) if is_prefix else norm == part):
            return None
    return tokens[i + len(term.parts) - 1].end


def _ordered_positive(rule: Rule, found: frozenset[Term]) -> list[Term]:
    seen: dict[Term, None] = {}
    for term in positive_terms(rule.match):
        if term in found:
            seen.setdefault(term, None)
    return list(seen)


def _hit(rule: Rule, doc: Document, occurrences: list[Occurrence]) -> Hit:
    evidence = tuple(
        Evidence(
            term=o.term.text, field=o.field, snippet=snippet(getattr(doc, o.field), o.start, o.end)
        )
        for o in occurrences[:MAX_EVIDENCE]
    )
    return Hit(
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        score=float(len(occurrences)),
        evidence=evidence,
        channels=rule.notify,
    )


_SPACE = re.compile(r"\s+")


def snippet(text: str, start: int, end: int, radius: int = SNIPPET_RADIUS) -> str:
    """About ``radius`` characters each side of the match, cut at word boundaries."""
    left = max(0, start - radius)
    right = min(len(text), end + radius)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = _SPACE.sub(" ", text[left:right]).strip()
    return f"{'…' if left > 0 else ''}{body}{'…' if right < len(text) else ''}"

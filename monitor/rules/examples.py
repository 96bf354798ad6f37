"""Running each rule's ``examples``: texts it must fire on and texts it must not.

An example is a short article: its first line is the headline, the rest (if any) the body,
as in ``monitor match`` for ``.txt`` files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.entities import Document
from monitor.rules.match import compile_rules
from monitor.rules.tree import Rule


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    expected: bool  # True for `match`, False for `no_match`
    fired: bool
    text: str

    @property
    def passed(self) -> bool:
        return self.expected == self.fired


def example_document(text: str) -> Document:
    title, _, body = text.strip().partition("\n")
    return Document(title=title.strip(), text=body.strip())


def run_examples(rules: Iterable[Rule]) -> list[ExampleResult]:
    results = []
    for rule in rules:
        matcher = compile_rules([_enabled(rule)])
        cases = [(True, t) for t in rule.examples.match] + [
            (False, t) for t in rule.examples.no_match
        ]
        for expected, text in cases:
            fired = bool(matcher.match(example_document(text)))
            results.append(ExampleResult(rule.id, expected, fired, text))
    return results


def _enabled(rule: Rule) -> Rule:
    """Examples prove a rule even while it is disabled, and regardless of its scope."""
    from dataclasses import replace

    return replace(rule, enabled=True, languages=None, feeds=None)

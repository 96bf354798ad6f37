"""Why a rule did not fire on a document, in the words of its own tree: which ``all`` part
found nothing, which ``none`` term excluded it, which terms were too far apart for
``near``, which figure or place was missing; or that the document was out of the rule's
scope or under its threshold. ``monitor match --explain``, the playground and the
backtest's near misses say it."""

from __future__ import annotations

from typing import Any

from monitor.entities import Document
from monitor.rules.conditions import Condition
from monitor.rules.match import Matcher
from monitor.rules.tree import Group, Near, Node, Rule, Term, positive_terms

MAX_LISTED = 4  # terms named in one reason


def explain(matcher: Matcher, doc: Document) -> dict[str, list[str]]:
    """For each rule that does not fire on ``doc``, why not."""
    fired = {hit.rule_id for hit in matcher.match(doc)}
    view = matcher.view(doc)
    return {rule.id: _rule(rule, doc, view) for rule in matcher.rules if rule.id not in fired}


def near_misses(matcher: Matcher, doc: Document) -> dict[str, list[str]]:
    """The rules that do not fire although some of their terms occur, and why not."""
    view = matcher.view(doc)
    fired = {hit.rule_id for hit in matcher.match(doc)}
    return {
        rule.id: _rule(rule, doc, view)
        for rule in matcher.rules
        if rule.id not in fired and any(view.has(t) for t in positive_terms(rule.match))
    }


def _rule(rule: Rule, doc: Document, view: Any) -> list[str]:
    if not rule.in_scope(doc.language, doc.feed, doc.tags):
        scope = sorted(rule.languages or ()) or sorted(rule.feeds or ())
        return [f"out of its scope ({', '.join(scope)}): language {doc.language}, feed {doc.feed}"]
    reasons = why_not(rule.match, view)
    if reasons:
        return reasons
    score = sum(t.weight for t in dict.fromkeys(positive_terms(rule.match)) if view.has(t))
    return [f"score {score:g} below its threshold {rule.threshold or 0:g}"]


def why_not(node: Node, view: Any) -> list[str]:
    """The reasons ``node`` does not hold on the document ``view`` shows (empty if it
    holds)."""
    if node.holds(view):
        return []
    if isinstance(node, Term):
        return [f"{node.text!r} not found"]
    if isinstance(node, Condition):
        return [_condition(node, view)]
    if isinstance(node, Near):
        missing = [alts for alts in node.operands if not any(view.has(t) for t in alts)]
        if missing:
            return [f"near: none of {_names(t.text for t in alts)} found" for alts in missing]
        found = [t.text for t in node.terms if view.has(t)]
        return [f"near: {_names(found)} found, but not within {node.within} words of each other"]
    return _group(node, view)


def _group(node: Group, view: Any) -> list[str]:
    if node.op == "none":
        excluded = [c for c in node.children if c.holds(view)]
        return [f"excluded by none: {_names(_label(c) for c in excluded)} found"]
    if node.op == "all":
        return [reason for child in node.children for reason in why_not(child, view)]
    held = sum(child.holds(view) for child in node.children)
    if node.op == "any":
        return [f"any: none of {_names(_label(c) for c in node.children)} found"]
    return [f"at_least {node.n}: {held} of {_names(_label(c) for c in node.children)} found"]


def _condition(node: Condition, view: Any) -> str:
    facts = view.facts()
    if node.kind == "figure":
        seen = [f.label() for f in facts.figures]
        return (
            f"{node.text}: no such figure ({'found ' + ', '.join(seen) if seen else 'no figures'})"
        )
    seen = list(dict.fromkeys(p.label() for p in facts.places))
    named = f"places found: {', '.join(seen)}" if seen else "no places found"
    return f"{node.text}: not in this text ({named})"


def _label(node: Node) -> str:
    if isinstance(node, Term | Condition):
        return node.text
    if isinstance(node, Near):
        return f"near({', '.join(t.text for t in node.terms)})"
    return f"{node.op}(…)"


def _names(items: Any) -> str:
    names = [f"'{n}'" for n in items]
    more = len(names) - MAX_LISTED
    return ", ".join(names[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")

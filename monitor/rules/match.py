"""The matching engine: every rule against one document in one pass over each field.

Compile: every distinct term pattern gets an id; the first word of each word pattern (its
"anchor") goes into one Aho-Corasick automaton, regex patterns into one RE2 set.
Match: each field is folded once and scanned once by the automaton (and the RE2 set); each
anchor hit is checked for word boundaries and, for phrases and wildcards, by a small
verifier at that position. Only rules with a positive term among the hits are evaluated.
So the cost per article grows with its length and its term occurrences, not the rule count.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick
import re2

from monitor.entities import Document, Evidence, Facts, Hit
from monitor.language.understand import default_understanding
from monitor.rules.text import WORD, fold, is_word_char, offset_map, prepare, to_original
from monitor.rules.tree import (
    Near,
    Node,
    Pattern,
    Rule,
    Term,
    all_terms,
    conditions,
    positive_terms,
    re2_options,
)

SNIPPET_RADIUS = 100
MAX_EVIDENCE = 5
MAX_SPANS = 200  # occurrences kept per pattern and field (for NEAR); evidence needs one
FIELDS = ("title", "text")
_LITERAL, _PREFIX, _VERIFY = 0, 1, 2


@dataclass
class FieldScan:
    prepared: str
    folded: str
    _starts: list[int] | None = None
    _words: list[int] | None = None

    def original(self, offset: int) -> int:
        if len(self.folded) == len(self.prepared):
            return offset
        if self._starts is None:
            self._starts = offset_map(self.prepared)
        return to_original(self._starts, offset)

    def word_index(self, offset: int) -> int:
        if self._words is None:
            self._words = [m.start() for m in WORD.finditer(self.folded)]
        return bisect.bisect_right(self._words, offset) - 1


@dataclass
class Scan:
    """Where each pattern occurred: pattern id -> field -> [(start, end)] in folded text."""

    fields: dict[str, FieldScan] = field(default_factory=dict)
    spans: dict[int, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)

    def add(self, pid: int, where: str, start: int, end: int) -> None:
        found = self.spans.setdefault(pid, {}).setdefault(where, [])
        if len(found) < MAX_SPANS:
            found.append((start, end))


class Matcher:
    """Compiled rules. Build once per rule set (``compile_rules``), call ``match`` per document."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(r for r in rules if r.enabled)
        self._pids: dict[Pattern, int] = {}
        self._term_pids: dict[Term, frozenset[int]] = {}
        self._rules_by_pid: dict[int, list[int]] = defaultdict(list)
        self._positive: list[tuple[Term, ...]] = []
        # Per rule: pattern id -> (place among the rule's positive terms, term). A document
        # holds a few dozen patterns and a rule a hundred terms or more: its matched terms
        # are found from the patterns present, not by testing every term.
        self._positive_by_pid: list[dict[int, list[tuple[int, Term]]]] = []
        self._required: list[tuple[frozenset[int], ...]] = []
        self._has_conditions = [any(True for _ in conditions(r.match)) for r in self.rules]
        for index, rule in enumerate(self.rules):
            for term in all_terms(rule.match):
                self._term_pids[term] = frozenset(self._pid(p) for p in term.patterns)
            positive = tuple(dict.fromkeys(positive_terms(rule.match)))
            self._positive.append(positive)
            by_pid: dict[int, list[tuple[int, Term]]] = defaultdict(list)
            for place, term in enumerate(positive):
                for pid in self._term_pids[term]:
                    by_pid[pid].append((place, term))
            self._positive_by_pid.append(dict(by_pid))
            required = self._required_groups(rule.match)
            # Every required group must occur, so a rule is indexed under the smallest one
            # only (fewest patterns: fewest articles wake it up), and tested on the others.
            trigger = min(required, key=len)
            self._required.append(tuple(g for g in required if g is not trigger))
            for pid in trigger:
                self._rules_by_pid[pid].append(index)
        self._build_scanners()

    def _required_groups(self, node: Node) -> tuple[frozenset[int], ...]:
        """Pattern sets of which each must have an occurrence for the rule to fire: a cheap
        test that spares most candidate rules the full evaluation."""
        required = []
        for child in node.conjuncts():
            pids = frozenset(p for t in positive_terms(child) for p in self._term_pids[t])
            if pids:
                required.append(pids)
        if not required:  # e.g. only regex terms under NOT: cannot fire, never a candidate
            required.append(frozenset())
        return tuple(required)

    def _pid(self, pattern: Pattern) -> int:
        return self._pids.setdefault(pattern, len(self._pids))

    def _build_scanners(self) -> None:
        anchors: dict[str, list[int]] = defaultdict(list)
        self._kind: dict[int, int] = {}
        self._verify: dict[int, re.Pattern[str]] = {}
        self._case: dict[int, str] = {}  # patterns whose words must be written in a case
        self._regex: list[tuple[int, re2._Regexp]] = []
        self._regex_set = re2.Set.SearchSet(re2_options())
        for pattern, pid in self._pids.items():
            if pattern.regex is not None:
                self._regex_set.Add(pattern.regex)
                self._regex.append((pid, re2.compile(pattern.regex, re2_options())))
                continue
            for anchor in pattern.alternatives(0):
                anchors[anchor].append(pid)
            if pattern.case:
                self._case[pid] = pattern.case
            if len(pattern.parts) > 1:
                self._kind[pid], self._verify[pid] = _VERIFY, _verifier(pattern)
            else:
                self._kind[pid] = _PREFIX if pattern.parts[0][1] else _LITERAL
        self._automaton = ahocorasick.Automaton()
        for anchor, pids in anchors.items():
            self._automaton.add_word(anchor, (len(anchor), tuple(pids)))
        if anchors:
            self._automaton.make_automaton()
        self._regex_set.Compile()

    def scan(self, doc: Document) -> Scan:
        result = Scan()
        for where in FIELDS:
            prepared = prepare(getattr(doc, where))
            folded = fold(prepared)
            result.fields[where] = FieldScan(prepared, folded)
            if len(self._automaton):
                self._scan_words(folded, where, result)
                if self._case:
                    self._check_case(result, where)
            if self._regex and self._regex_set.Match(folded):
                self._scan_regex(folded, where, result)
        return result

    def _scan_words(self, folded: str, where: str, result: Scan) -> None:
        kind, verify = self._kind, self._verify
        size = len(folded)
        for last, (length, pids) in self._automaton.iter(folded):
            start = last - length + 1
            if start and (folded[start - 1].isalnum() or is_word_char(folded, start - 1)):
                continue
            for pid in pids:
                k = kind[pid]
                if k == _LITERAL:
                    after = last + 1
                    if after == size or not (
                        folded[after].isalnum() or is_word_char(folded, after)
                    ):
                        result.add(pid, where, start, last + 1)
                elif k == _PREFIX:
                    result.add(pid, where, start, last + 1)
                elif (m := verify[pid].match(folded, start)) is not None:
                    result.add(pid, where, start, m.end())

    def _check_case(self, result: Scan, where: str) -> None:
        """Drop the occurrences of ``case:`` patterns written in another case."""
        scan = result.fields[where]
        for pid, shape in self._case.items():
            found = result.spans.get(pid, {}).get(where)
            if not found:
                continue
            kept = [
                (a, b)
                for a, b in found
                if _in_case(scan.prepared[scan.original(a) : scan.original(b)], shape)
            ]
            if kept:
                result.spans[pid][where] = kept
            else:
                del result.spans[pid][where]
                if not result.spans[pid]:
                    del result.spans[pid]

    def _scan_regex(self, folded: str, where: str, result: Scan) -> None:
        for index in self._regex_set.Match(folded):
            pid, compiled = self._regex[index]
            for m in compiled.finditer(folded):
                result.add(pid, where, m.start(), m.end())

    def match(self, doc: Document) -> list[Hit]:
        return [hit for _, hit in self._match(doc, self.scan(doc))]

    def marks(self, doc: Document) -> tuple[list[Hit], dict[str, list[tuple[int, int]]]]:
        """The hits, and where their terms occur: per field, (start, end) offsets into
        ``prepare(field text)``, sorted and not overlapping (what a page highlights)."""
        scan = self.scan(doc)
        found = self._match(doc, scan)
        spans: dict[str, list[tuple[int, int]]] = {where: [] for where in FIELDS}
        for index, _ in found:
            for term in self._positive[index]:
                for pid in self._term_pids[term]:
                    for where, places in scan.spans.get(pid, {}).items():
                        field_scan = scan.fields[where]
                        spans[where] += [
                            (field_scan.original(a), field_scan.original(b)) for a, b in places
                        ]
        return [hit for _, hit in found], {w: _disjoint(s) for w, s in spans.items()}

    def view(self, doc: Document) -> _View:
        """The document as the rules read it: what ``monitor.rules.explain`` asks."""
        return _View(self._term_pids, self.scan(doc), doc)

    def _match(self, doc: Document, scan: Scan) -> list[tuple[int, Hit]]:
        present = scan.spans.keys()
        rules_by_pid = self._rules_by_pid
        candidates = sorted({i for pid in present for i in rules_by_pid.get(pid, ())})
        view = _View(self._term_pids, scan, doc)
        hits: list[tuple[int, Hit]] = []
        for index in candidates:
            if any(group.isdisjoint(present) for group in self._required[index]):
                continue
            rule = self.rules[index]
            if not rule.in_scope(doc.language, doc.feed, doc.tags) or not view.holds(rule.match):
                continue
            matched = self._matched(index, view)
            score = sum(t.weight for t in matched)
            if rule.threshold is not None and score < rule.threshold:
                continue
            evidence = [view.evidence(t) for t in matched[:MAX_EVIDENCE]]
            if self._has_conditions[index]:
                evidence += view.condition_evidence(rule.match)
            hits.append((index, _hit(rule, score, evidence)))
        return hits

    def _matched(self, index: int, view: _View) -> list[Term]:
        """The rule's positive terms the document holds, in the rule's order."""
        by_pid, found = self._positive_by_pid[index], dict[int, Term]()
        for pid in view.present["any"].intersection(by_pid):
            for place, term in by_pid[pid]:
                if place not in found and view.has(term):
                    found[place] = term
        return [found[place] for place in sorted(found)]


class _View:
    """One document's scan, read through one rule's terms (and its facts, read on first
    need when the pipeline did not read them already)."""

    def __init__(
        self, term_pids: dict[Term, frozenset[int]], scan: Scan, doc: Document | None = None
    ) -> None:
        self.term_pids = term_pids
        self.scan = scan
        self.doc = doc
        self._facts: Facts | None = doc.facts if doc is not None else Facts()
        self.present: dict[str, set[int]] = {"any": set(scan.spans)}
        for where in FIELDS:
            self.present[where] = {pid for pid, found in scan.spans.items() if where in found}

    def fields_of(self, term: Term) -> set[str]:
        pids = self.term_pids.get(term, frozenset())
        return {
            f for f in FIELDS if term.field in ("any", f) and not pids.isdisjoint(self.present[f])
        }

    def has(self, term: Term) -> bool:
        return not self.term_pids.get(term, frozenset()).isdisjoint(self.present[term.field])

    def holds(self, node: Node) -> bool:
        return node.holds(self)

    def facts(self) -> Facts:
        if self._facts is None:
            assert self.doc is not None
            self._facts = default_understanding().read(self.doc).facts or Facts()
        return self._facts

    def condition_evidence(self, node: Node) -> list[Evidence]:
        """Why each condition of the tree holds: the figure or place, in its passage."""
        found = []
        for condition in conditions(node):
            places = condition.found(self.facts())
            if places:
                where, start, end = places[0]
                text = self.scan.fields[where].prepared if where in self.scan.fields else ""
                found.append(Evidence(condition.text, where, snippet(text, start, end)))
        return found

    def near(self, node: Near) -> bool:
        fields = set(FIELDS)
        for alternatives in node.operands:
            fields &= set().union(*(self.fields_of(t) for t in alternatives))
        for where in sorted(fields):
            scan = self.scan.fields[where]
            marks = sorted(
                (scan.word_index(start), label)
                for label, alternatives in enumerate(node.operands)
                for term in alternatives
                if term.field in ("any", where)
                for pid in self.term_pids[term]
                for start, _ in self.scan.spans.get(pid, {}).get(where, ())
            )
            if _window_covers(marks, len(node.operands), node.within):
                return True
        return False

    def evidence(self, term: Term) -> Evidence:
        for where in FIELDS:
            spans = [
                s
                for pid in self.term_pids[term]
                for s in self.scan.spans.get(pid, {}).get(where, ())
            ]
            if spans and (term.field in ("any", where)):
                start, end = min(spans)
                scan = self.scan.fields[where]
                text = scan.prepared
                return Evidence(
                    term.text, where, snippet(text, scan.original(start), scan.original(end))
                )
        return Evidence(term.text, "text", "")


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window_covers(marks: list[tuple[int, int]], labels: int, within: int) -> bool:
    """Is there a run of word positions holding every label, with at most ``within`` other
    words in between (NEAR/5: up to five words between the terms)?"""
    counts: dict[int, int] = defaultdict(int)
    left = 0
    for position, label in marks:
        counts[label] += 1
        while position - marks[left][0] > within + 1:
            counts[marks[left][1]] -= 1
            if counts[marks[left][1]] == 0:
                del counts[marks[left][1]]
            left += 1
        if len(counts) == labels:
            return True
    return False


def _verifier(pattern: Pattern) -> re.Pattern[str]:
    pieces = []
    for index, (_, is_prefix) in enumerate(pattern.parts):
        forms = sorted(pattern.alternatives(index), key=len, reverse=True)  # longest first
        word = (
            "(?:" + "|".join(re.escape(f) for f in forms) + ")"
            if len(forms) > 1
            else re.escape(forms[0])
        )
        pieces.append(word + (r"\w*" if is_prefix else ""))
    tail = "" if pattern.parts[-1][1] else r"(?!\w)"
    return re.compile(r"\W+".join(pieces) + tail)


def _in_case(written: str, shape: str) -> bool:
    letters = [ch for ch in written if ch.isalpha()]
    if not letters:
        return False
    if shape == "upper":
        return all(ch.isupper() for ch in letters)
    return letters[0].isupper() if shape == "title" else letters[0].islower()


def _hit(rule: Rule, score: float, evidence: list[Evidence]) -> Hit:
    return Hit(
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        score=score,
        evidence=tuple(evidence),
        channels=rule.notify,
    )


def compile_rules(rules: Iterable[Rule]) -> Matcher:
    return Matcher(rules)


def fires_on_nothing(rule: Rule) -> bool:
    """Would the rule fire on an empty document? Then it would fire on every one."""
    if rule.threshold is not None:
        return False
    return _View({}, Scan()).holds(rule.match)


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
    body = " ".join(text[left:right].split())  # runs of whitespace as one space, a quarter
    # of the regular expression's time (both go by Unicode's whitespace)
    return f"{'…' if left > 0 else ''}{body}{'…' if right < len(text) else ''}"

"""A rule as the engine sees it: metadata plus a boolean tree over parsed terms.

Node kinds: ``Term`` (a word, ``prefix*``, ``"phrase with wild*"``, or ``re:regex``; with a
field and a weight), ``Group`` (one of ``OPERATORS`` over child nodes: all, any, none,
at_least N), ``Near`` (terms within N words of each other). The YAML tree and the query
string both build these. Each node carries its behaviour: whether it holds on a document
(``holds``, given the matcher's view of one document), what a full-text index can be
asked for (``need``), and its terms (``iter_terms``, ``positive``). A group operator is one
``Operator`` listed once in ``OPERATORS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import re2

from monitor.entities import Severity
from monitor.language.forms import forms_of
from monitor.rules.conditions import Condition
from monitor.rules.need import Need, Word, need_all, need_any
from monitor.rules.text import fold, prepare, words

Field = Literal["title", "text", "any"]
Op = str  # a key of OPERATORS
_WEIGHT = re.compile(r"\^(\d+(?:\.\d+)?)$")
REGEX_PREFIX = "re:"


class TermSyntaxError(ValueError):
    """A term or query that cannot be compiled; the loader adds file and line.

    ``path`` is the data path of the offending value, ``offset`` a position inside it.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = (), offset: int | None = None):
        super().__init__(message)
        self.path = path
        self.offset = offset


@dataclass(frozen=True)
class Pattern:
    """What the scanner looks for: folded words (each maybe a prefix), or a regex.

    ``forms`` holds, for each word, every form it matches (a base form's inflections);
    empty when each word matches only as written. ``case`` asks the document's words to
    be written in this case: "title", "upper" or "lower" (``case:`` terms).
    """

    parts: tuple[tuple[str, bool], ...] = ()
    regex: str | None = None
    forms: tuple[tuple[str, ...], ...] = ()
    case: str = ""

    def alternatives(self, index: int) -> tuple[str, ...]:
        """The forms the ``index``-th word matches."""
        return self.forms[index] if self.forms else (self.parts[index][0],)


@dataclass(frozen=True)
class Term:
    text: str
    patterns: tuple[Pattern, ...]
    field: Field = "any"
    weight: float = 1.0

    def __hash__(self) -> int:
        # Terms key the matcher's tables and are looked up several times per rule and
        # article; the generated hash would walk every pattern's parts each time.
        try:
            return self.__dict__["_hash"]  # type: ignore[no-any-return]
        except KeyError:
            value = hash((self.text, self.patterns, self.field, self.weight))
            object.__setattr__(self, "_hash", value)
            return value

    def __getstate__(self) -> dict[str, object]:
        # string hashes differ between processes: a copied term computes its own
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def holds(self, view: View) -> bool:
        return view.has(self)

    def need(self) -> Need | None:
        return need_any([_pattern_need(p) for p in self.patterns])

    def iter_terms(self) -> Iterator[Term]:
        yield self

    def positive(self, negated: bool = False) -> Iterator[Term]:
        if not negated:
            yield self

    def conjuncts(self) -> tuple[Node, ...]:
        return (self,)

    def has_near(self) -> bool:
        return False


class View(Protocol):
    """One document as the matcher scanned it (``monitor.rules.match``)."""

    def has(self, term: Term) -> bool: ...

    def near(self, node: Near) -> bool: ...


@dataclass(frozen=True)
class Operator:
    """What a group of child nodes means."""

    name: str  # ``Group.op``
    holds: Callable[[Iterator[bool], int], bool]  # the children's results, ``n``
    need: Callable[[list[Need | None], int], Need | None]  # the children's needs, ``n``
    negates: bool = False  # the children's terms count against the rule
    conjunctive: bool = False  # every child must hold
    items: str = ""  # the match block's key holding the children (default: ``name``)
    count: str | None = None  # the match block's key holding ``n``, if it takes one

    @property
    def key(self) -> str:
        return self.items or self.name


def _at_least_need(parts: list[Need | None], n: int) -> Need | None:
    return need_any(parts) if n >= 1 else None


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("all", lambda held, _: all(held), lambda p, _: need_all(p), conjunctive=True),
        Operator("any", lambda held, _: any(held), lambda p, _: need_any(p)),
        Operator("none", lambda held, _: not any(held), lambda p, _: None, negates=True),
        Operator(
            "at_least", lambda held, n: sum(held) >= n, _at_least_need, items="of", count="at_least"
        ),
    )
}


@dataclass(frozen=True)
class Group:
    op: Op
    children: tuple[Node, ...]
    n: int = 1

    def holds(self, view: View) -> bool:
        return OPERATORS[self.op].holds((child.holds(view) for child in self.children), self.n)

    def need(self) -> Need | None:
        return OPERATORS[self.op].need([child.need() for child in self.children], self.n)

    def iter_terms(self) -> Iterator[Term]:
        for child in self.children:
            yield from child.iter_terms()

    def positive(self, negated: bool = False) -> Iterator[Term]:
        negated ^= OPERATORS[self.op].negates
        for child in self.children:
            yield from child.positive(negated)

    def conjuncts(self) -> tuple[Node, ...]:
        return self.children if OPERATORS[self.op].conjunctive else (self,)

    def has_near(self) -> bool:
        return any(child.has_near() for child in self.children)


@dataclass(frozen=True)
class Near:
    """Each operand (a tuple of alternative terms) occurs, with at most ``within`` other words
    between them, in one field."""

    operands: tuple[tuple[Term, ...], ...]
    within: int

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(t for alternatives in self.operands for t in alternatives)

    def holds(self, view: View) -> bool:
        return view.near(self)

    def need(self) -> Need | None:
        return need_all([need_any([t.need() for t in alts]) for alts in self.operands])

    def iter_terms(self) -> Iterator[Term]:
        yield from self.terms

    def positive(self, negated: bool = False) -> Iterator[Term]:
        if not negated:
            yield from self.terms

    def conjuncts(self) -> tuple[Node, ...]:
        return (self,)

    def has_near(self) -> bool:
        return True


Node = Term | Group | Near | Condition


def _pattern_need(pattern: Pattern) -> Need | None:
    """Only words of letters: database tokenisers split digits, hyphens and underscores in
    their own ways; words with apostrophes go in as their letter runs. A word with several
    forms needs one of them."""
    if pattern.regex is not None:
        return None
    found: list[Need | None] = []
    for index, (_, prefix) in enumerate(pattern.parts):
        found.append(need_any([_word_need(w, prefix) for w in pattern.alternatives(index)]))
    return need_all(found)


def _word_need(word: str, prefix: bool) -> Need | None:
    runs = word.split("'")
    return need_all(
        [
            Word(run, prefix and i == len(runs) - 1) if run.isalpha() else None
            for i, run in enumerate(runs)
        ]
    )


@dataclass(frozen=True)
class Examples:
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    notify: tuple[str, ...]
    match: Node
    description: str = ""
    enabled: bool = True
    languages: frozenset[str] | None = None
    feeds: frozenset[str] | None = None  # feed names or tags
    threshold: float | None = None
    examples: Examples = field(default_factory=Examples)
    path: Path | None = None

    def in_scope(self, language: str | None, feed: str | None, tags: tuple[str, ...]) -> bool:
        """Unknown language or feed is in scope: a missed alert is worse than a spare one."""
        if self.languages and language and language.lower() not in self.languages:
            return False
        return not (
            self.feeds and feed and feed not in self.feeds and not self.feeds.intersection(tags)
        )


def parse_term(text: str, field: Field = "any") -> Term:
    """``troop``, ``troop*``, ``border guard``, ``"Belarus border"^2``, ``re:\\bt\\d+``,
    ``exact:полки``, ``case:Запад``. A plain word matches every form of it (``forms_of``);
    ``word*`` is a prefix; ``exact:`` and all-capital acronyms match as written."""
    body, weight = _split_weight(text.strip())
    if body.startswith(REGEX_PREFIX):
        return Term(text, (_regex_pattern(text, body[len(REGEX_PREFIX) :]),), field, weight)
    options, body = _options(body)
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1]
    if '"' in body:
        raise TermSyntaxError(f"term '{text}': unbalanced or inner quote")
    parts: list[tuple[str, bool]] = []
    forms: list[tuple[str, ...]] = []
    for piece in body.split():
        prefix = piece.endswith("*")
        core = piece.rstrip("*")
        if "*" in core:
            raise TermSyntaxError(f"term '{text}': '*' is allowed only at the end of a word")
        written = words(prepare(core))
        tokens = words(fold(prepare(core)))
        if not tokens:
            raise TermSyntaxError(f"term '{text}': no letters or digits to match")
        for index, token in enumerate(tokens):
            last = index == len(tokens) - 1
            parts.append((token, prefix and last))
            as_written = written[index] if len(written) == len(tokens) else token
            exact = "exact" in options or (prefix and last) or _is_acronym(as_written)
            forms.append((token,) if exact else _forms(token, len(body.split()) > 1))
    if not parts:
        raise TermSyntaxError("empty term")
    case = _case_shape(body) if "case" in options else ""
    inflected = tuple(forms) if any(len(f) > 1 for f in forms) else ()
    patterns = [Pattern(tuple(parts), forms=inflected, case=case)]
    if len(parts) > 1 and len(body.split()) == 1:  # ex-soldier: also match exsoldier
        patterns.append(Pattern((("".join(w for w, _ in parts), parts[-1][1]),), case=case))
    return Term(text, tuple(patterns), field, weight)


TERM_OPTIONS = ("exact", "case")  # ``exact:word``, ``case:Name``, in either order


def _options(body: str) -> tuple[set[str], str]:
    options: set[str] = set()
    while True:
        head, colon, rest = body.partition(":")
        if not colon or head not in TERM_OPTIONS or head in options or not rest.strip():
            return options, body
        options.add(head)
        body = rest.strip()


def _is_acronym(word: str) -> bool:
    """БПЛА, ЗРК, NATO: all capitals, kept as written."""
    return len(word) >= 2 and word.isalpha() and word.isupper()


def _forms(token: str, in_phrase: bool) -> tuple[str, ...]:
    """The folded forms a plain word matches, the word first."""
    if not token.isalpha() or len(token) < 3:
        return (token,)
    found = {token}
    for form in forms_of(token, in_phrase):
        folded = words(fold(prepare(form)))
        if len(folded) == 1:
            found.add(folded[0])
    return (token, *sorted(found - {token}))


def _case_shape(body: str) -> str:
    letters = [ch for ch in body if ch.isalpha()]
    if not letters:
        return ""
    if all(ch.isupper() for ch in letters):
        return "upper"
    return "title" if letters[0].isupper() else "lower"


def _split_weight(text: str) -> tuple[str, float]:
    match = _WEIGHT.search(text)
    if not match or (text.startswith(REGEX_PREFIX) and not text.endswith(f"/{match.group()}")):
        return text, 1.0
    return text[: match.start()], float(match.group(1))


def re2_options() -> re2.Options:
    """Quiet (errors are reported as rule problems, not on stderr), word boundaries on."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    return options


def _regex_pattern(text: str, source: str) -> Pattern:
    if source.startswith("/") and source.endswith("/") and len(source) >= 2:
        source = source[1:-1]
    if not source:
        raise TermSyntaxError(f"term '{text}': empty regular expression")
    try:
        re2.compile(source, re2_options())
    except re2.error as exc:
        detail = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc)
        raise TermSyntaxError(
            f"term '{text}': the regex engine (RE2) refuses it: {detail}"
        ) from None
    return Pattern(regex=source)


def all_terms(node: Node) -> Iterator[Term]:
    return node.iter_terms()


def positive_terms(node: Node, negated: bool = False) -> Iterator[Term]:
    """Terms whose presence can make the rule fire (not under an odd number of 'none')."""
    return node.positive(negated)


def uses_near(node: Node) -> bool:
    return node.has_near()


def conditions(node: Node) -> Iterator[Condition]:
    """The tree's conditions on figures and places."""
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, Group):
        for child in node.children:
            yield from conditions(child)

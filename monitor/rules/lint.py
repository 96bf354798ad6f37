"""Advice on a rule's Russian and Ukrainian words, for ``monitor rules check``: a plain word
matches every form of its base form, so a word that is no base form ("полки") matches only
as written, and one no dictionary knows (a misspelling, a name) matches only as written too.
Neither is an error (names and exact forms are legitimate), so these are warnings with a
suggestion. English words are left alone: names abound and a word's few forms come from its
lemma whatever form the rule names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.language.forms import analyse, suggestions
from monitor.rules.text import WORD, prepare
from monitor.rules.tree import REGEX_PREFIX, TERM_OPTIONS, Rule, Term, all_terms


@dataclass(frozen=True)
class Advice:
    path: Path | None
    line: int
    term: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: " if self.path else ""
        return f"warning: {where}'{self.term}': {self.message}"


def word_advice(rule: Rule) -> list[Advice]:
    """One piece of advice per word of the rule that matches only as written, unasked."""
    lines = _lines(rule.path)
    advice = []
    for term in dict.fromkeys(all_terms(rule.match)):
        for word, message in _advice(term):
            advice.append(Advice(rule.path, _line_of(lines, term.text), word, message))
    return advice


def channel_advice(rule: Rule, unknown: Callable[[list[str]], list[str]]) -> list[Advice]:
    """A warning for each channel the rule notifies that ``unknown`` says is not configured
    where this check runs (its alerts would be recorded as failed)."""
    line = _line_of(_lines(rule.path), "notify")
    return [
        Advice(
            rule.path,
            line,
            name,
            f"notified channel is not configured here (set MONITOR_CHANNEL_{name.upper()})",
        )
        for name in unknown(list(rule.notify))
    ]


def _advice(term: Term) -> Iterator[tuple[str, str]]:
    text = term.text.strip()
    if text.startswith(REGEX_PREFIX) or any(text.startswith(f"{o}:") for o in TERM_OPTIONS):
        return
    pieces = text.strip('"').split()
    phrase = len(pieces) > 1
    for piece in pieces:
        if piece.endswith("*"):
            continue
        for word in WORD.findall(prepare(piece)):
            if len(word) < 3 or not word.isalpha() or word.isupper() or word.isascii():
                continue  # numbers, acronyms and English (names, and few endings) as written
            if phrase:  # a phrase's words take every form of any paradigm they belong to
                if not analyse(word).known:
                    yield (
                        word,
                        "not a known word in English, Russian or Ukrainian: it matches as written",
                    )
                continue
            yield from suggestions([word]).items()


def _lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _line_of(lines: list[str], text: str) -> int:
    for number, line in enumerate(lines, 1):
        if text in line and not line.lstrip().startswith("#"):
            return number
    return 1

"""A story's messages. The first names every rule that fired, with each rule's why. A
follow-up comes when a story a channel already has deserves another message: a rule of
higher severity fired on it, a figure changed by the channel's factor, or it spread to the
channel's number of outlets or languages. Anything else folds silently into the story
("also reported by" in the digest and on the story page)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

from monitor.entities import Alert, Severity
from monitor.notify.settings import ChannelSettings
from monitor.store.story_messages import Spread, Told

MESSAGE_EVIDENCE = 6  # quotes in a story's message, over all its rules


def reason(
    told: Told, group: Sequence[Alert], spread: Spread, channel: ChannelSettings
) -> str | None:
    """Why the story's new reports make a follow-up, or None."""
    severity = max(a.severity for a in group)
    if channel.followup_severity and severity > told.severity:
        new = sorted({a.rule_name for a in group if a.severity == severity})
        return f"now {severity.name}: {', '.join(new)}"
    if channel.followup_figures:
        for unit, value in sorted(spread.figures.items()):
            before = told.figures.get(unit)
            if before and value and max(value / before, before / value) >= channel.followup_figures:
                return f"figures changed: {before:,.0f} → {value:,.0f} {unit}"
    outlets, languages = len(spread.outlets), len(spread.languages)
    if channel.followup_outlets and told.outlets < channel.followup_outlets <= outlets:
        return f"spreading: {outlets} outlets, {languages} languages"
    if channel.followup_languages and told.languages < channel.followup_languages <= languages:
        return f"spreading: {outlets} outlets, {languages} languages"
    return None


def urgent(group: Sequence[Alert], told: Told) -> bool:
    """A story that just became critical is told at once, whatever the hourly pace."""
    return max(a.severity for a in group) == Severity.critical > told.severity


def message(group: list[Alert], spread: Spread, why: str | None = None) -> Alert:
    """The story's message: its most severe report, naming every rule of the group."""
    rules = {a.rule_id: (a.rule_id, a.rule_name, a.severity) for a in reversed(group)}
    ordered = sorted(rules.values(), key=lambda r: (-r[2], r[1]))
    # Every rule's why on the headline's article, in turns (each rule's first quote, then
    # each one's second...); then the other reports'.
    own = [a.evidence for a in group if a.article_id == group[0].article_id]
    others = [a.evidence for a in group if a.article_id != group[0].article_id]
    turns = [*itertools.zip_longest(*own), *itertools.zip_longest(*others)]
    evidence = {(e.term, e.snippet): e for turn in turns for e in turn if e is not None}
    return replace(
        group[0],
        evidence=tuple(evidence.values())[:MESSAGE_EVIDENCE],
        story_rules=tuple(ordered),
        outlets=spread.outlets,
        languages=spread.languages,
        followup=why,
    )

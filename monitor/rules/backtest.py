"""Running an edited rule over stored articles before it goes live, and comparing it with
the live rule of the same id: how often it fires, on what, and what the edit adds or loses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from monitor.entities import Evidence, StoredArticle
from monitor.rules.explain import near_misses
from monitor.rules.match import Matcher, compile_rules
from monitor.rules.tree import Rule


@dataclass(frozen=True)
class Sample:
    article: StoredArticle
    evidence: tuple[Evidence, ...]


@dataclass
class BacktestReport:
    articles: int = 0
    hits: int = 0
    live_hits: int = 0
    sample: list[Sample] = field(default_factory=list)
    added: list[Sample] = field(default_factory=list)
    lost: list[StoredArticle] = field(default_factory=list)
    added_count: int = 0
    lost_count: int = 0
    # Articles holding some of the rule's terms on which it did not fire, and why not.
    near_misses: list[tuple[StoredArticle, tuple[str, ...]]] = field(default_factory=list)
    near_miss_count: int = 0
    # Stories, as the desk counts alerts: those the edited rule fires on, those the live
    # rule fires on, and the difference either way.
    stories: set[int] = field(default_factory=set)
    live_stories: set[int] = field(default_factory=set)

    @property
    def stories_added(self) -> int:
        return len(self.stories - self.live_stories)

    @property
    def stories_lost(self) -> int:
        return len(self.live_stories - self.stories)


def backtest(
    articles: Iterable[StoredArticle], candidate: Rule, live: Rule | None, sample: int = 10
) -> BacktestReport:
    """``articles`` newest first; the samples are the newest hits."""
    new = compile_rules([replace(candidate, enabled=True)])
    old = compile_rules([replace(live, enabled=True)]) if live else None
    report = BacktestReport()
    for article in articles:
        report.articles += 1
        hits = new.match(article.document)
        fired = bool(hits)
        was = bool(old.match(article.document)) if old else False
        report.hits += fired
        report.live_hits += was
        story = article.story_id or article.id
        if fired:
            report.stories.add(story)
        if was:
            report.live_stories.add(story)
        if fired and len(report.sample) < sample:
            report.sample.append(Sample(article, hits[0].evidence))
        elif not fired:
            _near_miss(new, article, report, sample)
        if old is None:
            continue
        if fired and not was:
            report.added_count += 1
            if len(report.added) < sample:
                report.added.append(Sample(article, hits[0].evidence))
        elif was and not fired:
            report.lost_count += 1
            if len(report.lost) < sample:
                report.lost.append(article)
    return report


def _near_miss(matcher: Matcher, article: StoredArticle, report: BacktestReport, keep: int) -> None:
    missed = near_misses(matcher, article.document)
    if missed:
        report.near_miss_count += 1
        if len(report.near_misses) < keep:
            report.near_misses.append((article, tuple(next(iter(missed.values())))))

"""Stories as the dashboard and the API show them: a page of stories with their rules,
outlets, languages and facts, filtered as hits are; one story with its reports by language,
in time order, which rules fired on which report, and why each report was linked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.entities import Facts, Severity
from monitor.store.facts import facts_from_json
from monitor.store.models import ArticleRow, FeedRow, HitRow, StoryLinkRow, StoryMessageRow
from monitor.store.views import PAGE_SIZE, HitFilter, filtered

STORY = func.coalesce(ArticleRow.story_id, ArticleRow.id)


@dataclass(frozen=True)
class StoryReport:
    """One article of a story."""

    id: int
    title: str
    url: str
    feed: str
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    rules: tuple[tuple[str, Severity], ...]  # (rule name, severity) that fired on it
    why: str | None  # how it joined the story (for alerted reports)
    linked_to: int | None
    facts: str = ""  # its figures and places, as alerts show them


@dataclass(frozen=True)
class StorySummary:
    id: int
    headline: str
    url: str
    language: str | None
    severity: Severity
    rules: tuple[str, ...]  # names, most severe first
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    first_seen: datetime
    last_update: datetime
    facts: str  # figures and places, as alerts show them
    reports: int


@dataclass(frozen=True)
class StoryView:
    summary: StorySummary
    reports: tuple[StoryReport, ...]  # in time order: the timeline
    told: tuple[tuple[str, str, str, int], ...]  # (channel, status, severity, follow-ups)

    def by_language(self) -> dict[str, list[StoryReport]]:
        out: dict[str, list[StoryReport]] = {}
        for report in self.reports:
            out.setdefault(report.language or "?", []).append(report)
        return out


def story_page(session: Session, where: HitFilter) -> tuple[list[StorySummary], bool]:
    """One page of stories with a hit ``where`` selects, latest hit first; and whether an
    older page exists."""
    query = filtered(
        select(STORY.label("story"), func.max(HitRow.created_at).label("last"))
        .select_from(HitRow)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id),
        where,
    )
    query = (
        query.group_by(STORY)
        .order_by(func.max(HitRow.created_at).desc(), STORY.desc())
        .offset((max(1, where.page) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    ids = [story for story, _ in session.execute(query)]
    reports = _reports(session, ids[:PAGE_SIZE])
    return [_summary(s, reports[s]) for s in ids[:PAGE_SIZE] if reports.get(s)], len(
        ids
    ) > PAGE_SIZE


def story_view(session: Session, story_id: int) -> StoryView | None:
    reports = _reports(session, [story_id]).get(story_id)
    if not reports:
        return None
    told = session.execute(
        select(
            StoryMessageRow.channel,
            StoryMessageRow.status,
            StoryMessageRow.severity,
            StoryMessageRow.followups,
        ).where(StoryMessageRow.story_id == story_id)
    )
    return StoryView(
        _summary(story_id, reports),
        tuple(reports),
        tuple((c, s, Severity(v).name, n) for c, s, v, n in told),
    )


def _reports(session: Session, stories: Sequence[int]) -> dict[int, list[StoryReport]]:
    if not stories:
        return {}
    rows = session.execute(
        select(
            STORY,
            ArticleRow.id,
            ArticleRow.title,
            ArticleRow.url,
            FeedRow.name,
            ArticleRow.language,
            ArticleRow.published_at,
            ArticleRow.fetched_at,
            StoryLinkRow.why,
            StoryLinkRow.linked_to,
            ArticleRow.facts,
        )
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .outerjoin(StoryLinkRow, StoryLinkRow.article_id == ArticleRow.id)
        .where(STORY.in_(stories))
        .order_by(ArticleRow.fetched_at, ArticleRow.id)
    ).all()
    ids = [r[1] for r in rows]
    rules: dict[int, list[tuple[str, Severity]]] = {}
    for article, name, severity in session.execute(
        select(HitRow.article_id, HitRow.rule_name, HitRow.severity)
        .where(HitRow.article_id.in_(ids))
        .order_by(HitRow.severity.desc(), HitRow.rule_name)
    ):
        rules.setdefault(article, []).append((name, Severity(severity)))
    out: dict[int, list[StoryReport]] = {}
    for story, article, *rest, why, linked, facts in rows:
        title, url, feed, language, published, fetched = rest
        report = StoryReport(
            article,
            title,
            url,
            feed,
            language,
            published,
            fetched,
            tuple(rules.get(article, ())),
            why,
            linked,
            (facts_from_json(facts) or Facts()).line() if facts else "",
        )
        out.setdefault(story, []).append(report)
    return out


def _summary(story: int, reports: list[StoryReport]) -> StorySummary:
    first = reports[0]
    severities: dict[str, Severity] = {}
    for report in reports:
        for name, severity in report.rules:
            severities[name] = max(severities.get(name, severity), severity)
    rules = tuple(sorted(severities, key=lambda n: (-severities[n], n)))
    return StorySummary(
        story,
        first.title,
        first.url,
        first.language,
        max(severities.values(), default=Severity.info),
        rules,
        tuple(dict.fromkeys(r.feed for r in reports)),
        tuple(sorted({r.language for r in reports if r.language})),
        first.fetched_at,
        reports[-1].fetched_at,
        next((r.facts for r in reports if r.facts), ""),
        len(reports),
    )

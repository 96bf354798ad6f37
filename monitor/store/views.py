"""What the dashboard and the API read: hits filtered and paged, one article with its hits,
deliveries and story, and per-rule counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from monitor.entities import Evidence, Facts, Severity
from monitor.store.articles import _evidence
from monitor.store.facts import facts_from_json
from monitor.store.models import ArticleRow, DeliveryRow, FeedRow, HitRow, RevisionRow, SightingRow

PAGE_SIZE = 50
Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]


@dataclass(frozen=True)
class HitFilter:
    rule: str | None = None
    severity: Severity | None = None  # at least
    feed: str | None = None
    language: str | None = None
    place: str | None = None  # a country code (BY) or a place's name (Brest) the article names
    since: datetime | None = None
    article_ids: tuple[int, ...] | None = None  # from a full-text search
    page: int = 1


@dataclass(frozen=True)
class HitRowView:
    hit_id: int
    article_id: int
    rule_id: str
    rule_name: str
    severity: Severity
    headline: str
    url: str
    feed: str
    language: str | None
    created_at: datetime
    story_id: int | None = None
    snippet: str = ""  # the first evidence


@dataclass(frozen=True)
class FoundArticle:
    """An article a search found, hit or not."""

    id: int
    title: str
    feed: str
    language: str | None
    fetched_at: datetime


def found_articles(session: Session, ids: tuple[int, ...]) -> list[FoundArticle]:
    rows = session.execute(
        select(
            ArticleRow.id,
            ArticleRow.title,
            FeedRow.name,
            ArticleRow.language,
            ArticleRow.fetched_at,
        )
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(ArticleRow.id.in_(ids))
        .order_by(ArticleRow.fetched_at.desc(), ArticleRow.id.desc())
    )
    return [FoundArticle(*row) for row in rows]


def delivery_states(session: Session, hit_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(channel, status) of each hit's deliveries."""
    out: dict[int, list[tuple[str, str]]] = {}
    if hit_ids:
        rows = session.execute(
            select(DeliveryRow.hit_id, DeliveryRow.channel, DeliveryRow.status)
            .where(DeliveryRow.hit_id.in_(hit_ids))
            .order_by(DeliveryRow.id)
        )
        for hit, channel, status in rows:
            out.setdefault(hit, []).append((channel, status))
    return out


@dataclass(frozen=True)
class DeliveryLine:
    id: int
    channel: str
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class ArticleHit:
    rule_id: str
    rule_name: str
    severity: Severity
    score: float
    evidence: tuple[Evidence, ...]
    deliveries: tuple[DeliveryLine, ...]


@dataclass(frozen=True)
class ArticleView:
    id: int
    title: str
    text: str | None
    url: str
    feed: str
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    text_source: str
    text_note: str | None
    hits: tuple[ArticleHit, ...]
    story: tuple[tuple[int, str, str], ...]  # other articles of the story: (id, title, feed)
    revision: int = 1
    updated_at: datetime | None = None
    # earlier revisions, newest first: (revision, title, when it was replaced)
    revisions: tuple[tuple[int, str, datetime], ...] = ()
    seen_in: tuple[tuple[str, str, str], ...] = ()  # other items it is: (feed, url, reason)
    facts: Facts | None = None  # figures, places and countries the language layer read
    story_id: int | None = None


def filtered(query: Q, where: HitFilter) -> Q:
    """``query`` (over hits, articles and feeds) narrowed to what ``where`` asks."""
    if where.rule:
        query = query.where(HitRow.rule_id == where.rule)
    if where.severity is not None:
        query = query.where(HitRow.severity >= int(where.severity))
    if where.feed:
        query = query.where(FeedRow.name == where.feed)
    if where.language:
        query = query.where(ArticleRow.language == where.language)
    if where.place:
        key = "|" + where.place.strip().lower().replace("%", "").replace("_", "") + "|"
        query = query.where(ArticleRow.places_index.contains(key, autoescape=True))
    if where.since:
        query = query.where(HitRow.created_at >= where.since)
    if where.article_ids is not None:
        query = query.where(ArticleRow.id.in_(where.article_ids))
    return query


def hit_page(session: Session, where: HitFilter) -> tuple[list[HitRowView], bool]:
    """One page of hits, newest first, and whether an older page exists."""
    query = (
        select(HitRow, ArticleRow, FeedRow.name)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .order_by(HitRow.created_at.desc(), HitRow.id.desc())
        .offset((max(1, where.page) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    rows = session.execute(filtered(query, where)).all()
    views = [
        HitRowView(
            h.id,
            a.id,
            h.rule_id,
            h.rule_name,
            Severity(h.severity),
            a.title,
            a.url,
            feed,
            a.language,
            h.created_at,
            a.story_id,
            h.evidence[0]["snippet"] if h.evidence else "",
        )
        for h, a, feed in rows[:PAGE_SIZE]
    ]
    return views, len(rows) > PAGE_SIZE


def article_view(session: Session, article_id: int) -> ArticleView | None:
    found = session.execute(
        select(ArticleRow, FeedRow.name)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(ArticleRow.id == article_id)
    ).first()
    if found is None:
        return None
    a, feed = found
    hits = list(session.scalars(select(HitRow).where(HitRow.article_id == a.id)))
    lines: dict[int, list[DeliveryLine]] = {}
    ids = [h.id for h in hits]
    for d in session.scalars(select(DeliveryRow).where(DeliveryRow.hit_id.in_(ids))):
        lines.setdefault(d.hit_id, []).append(
            DeliveryLine(d.id, d.channel, d.status, d.attempts, d.last_error)
        )
    story = session.execute(
        select(ArticleRow.id, ArticleRow.title, FeedRow.name)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(ArticleRow.story_id == (a.story_id or a.id), ArticleRow.id != a.id)
        .order_by(ArticleRow.fetched_at)
    ).all()
    return ArticleView(
        a.id,
        a.title,
        a.text,
        a.url,
        feed,
        a.language,
        a.published_at,
        a.fetched_at,
        a.text_source,
        a.text_note,
        tuple(
            ArticleHit(
                h.rule_id,
                h.rule_name,
                Severity(h.severity),
                h.score,
                _evidence(h.evidence),
                tuple(sorted(lines.get(h.id, []), key=lambda d: d.channel)),
            )
            for h in sorted(hits, key=lambda h: -h.severity)
        ),
        tuple((i, t, f) for i, t, f in story),
        a.revision,
        a.updated_at,
        _revisions(session, a.id),
        _sightings(session, a.id),
        facts_from_json(a.facts),
        a.story_id or a.id,
    )


def _revisions(session: Session, article_id: int) -> tuple[tuple[int, str, datetime], ...]:
    rows = session.execute(
        select(RevisionRow.revision, RevisionRow.title, RevisionRow.created_at)
        .where(RevisionRow.article_id == article_id)
        .order_by(RevisionRow.revision.desc())
    )
    return tuple((n, title, when) for n, title, when in rows)


def _sightings(session: Session, article_id: int) -> tuple[tuple[str, str, str], ...]:
    rows = session.execute(
        select(FeedRow.name, SightingRow.url, SightingRow.reason)
        .join(FeedRow, SightingRow.feed_id == FeedRow.id)
        .where(SightingRow.article_id == article_id)
        .order_by(SightingRow.seen_at)
    )
    return tuple((feed, url, reason) for feed, url, reason in rows)


@dataclass(frozen=True)
class RuleCounts:
    day: int = 0
    week: int = 0
    last: datetime | None = None


def rule_counts(session: Session, now: datetime) -> dict[str, RuleCounts]:
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    rows = session.execute(
        select(
            HitRow.rule_id,
            func.count().filter(HitRow.created_at >= day),
            func.count().filter(HitRow.created_at >= week),
            func.max(HitRow.created_at),
        ).group_by(HitRow.rule_id)
    ).all()
    return {rule: RuleCounts(d, w, last) for rule, d, w, last in rows}


def filter_choices(session: Session) -> tuple[list[str], list[str], list[str]]:
    """Rule ids, feed names and languages that hits exist for: the filter menus."""
    rules = list(session.scalars(select(HitRow.rule_id).distinct().order_by(HitRow.rule_id)))
    feeds = list(session.scalars(select(FeedRow.name).where(FeedRow.active).order_by(FeedRow.name)))
    languages = list(
        session.scalars(
            select(ArticleRow.language)
            .where(ArticleRow.language.is_not(None))
            .distinct()
            .order_by(ArticleRow.language)
        )
    )
    return rules, feeds, [lang for lang in languages if lang]

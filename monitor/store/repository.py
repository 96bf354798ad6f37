"""Every query the service makes, behind functions that take a Session and return
frozen values. Writes for one article (article, hits, deliveries) share one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.config import FeedConfig
from monitor.entities import (
    Alert,
    Article,
    Document,
    Evidence,
    FeedRef,
    Hit,
    Severity,
    StoredArticle,
)
from monitor.feeds.urls import url_hash
from monitor.store.models import ArticleRow, DeliveryRow, FeedRow, HitRow, utcnow


@dataclass(frozen=True)
class FeedStatus:
    name: str
    url: str
    active: bool
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    items_seen: int
    articles: int
    fetch_url: str | None = None
    disabled_reason: str | None = None
    next_check_at: datetime | None = None
    poll_interval: float | None = None
    down_since: datetime | None = None
    last_warning: str | None = None


@dataclass(frozen=True)
class HitView:
    hit_id: int
    rule_id: str
    rule_name: str
    severity: Severity
    score: float
    headline: str
    url: str
    feed: str
    created_at: datetime
    evidence: tuple[Evidence, ...]
    deliveries: tuple[tuple[str, str], ...]  # (channel, status)


def _feed_ref(row: FeedRow) -> FeedRef:
    return FeedRef(
        id=row.id,
        name=row.name,
        url=row.url,
        language=row.language,
        tags=tuple(row.tags or ()),
        full_text=row.full_text,
        interval=row.interval_seconds,
        etag=row.etag,
        last_modified=row.last_modified,
        fetch_url=row.fetch_url,
        content_hash=row.content_hash,
        adaptive=row.adaptive,
        lowest=row.min_interval or row.interval_seconds,
        highest=row.max_interval or row.interval_seconds,
        poll_interval=row.poll_interval,
        error_count=row.error_count,
    )


def sync_feeds(session: Session, feeds: Sequence[FeedConfig]) -> list[FeedRef]:
    """Make the feeds table agree with feeds.yaml (by name); feeds dropped from the file are
    deactivated, not deleted, so their articles and hits stay."""
    rows = {row.name: row for row in session.scalars(select(FeedRow))}
    wanted = {feed.name for feed in feeds}
    for feed in feeds:
        row = rows.get(feed.name)
        if row is None:
            row = FeedRow(name=feed.name, error_count=0, items_seen=0)
            session.add(row)
        if row.url != feed.url:  # the operator changed it: start afresh, even if disabled
            row.etag = row.last_modified = row.fetch_url = row.content_hash = None
            row.disabled_reason = None
            row.next_check_at = None
        row.url = feed.url
        row.language = feed.language
        row.tags = list(feed.tags)
        row.interval_seconds = feed.interval
        row.full_text = feed.full_text
        row.adaptive = feed.adaptive
        row.min_interval = feed.lowest
        row.max_interval = feed.highest
        row.active = True
    for name, row in rows.items():
        if name not in wanted:
            row.active = False
    session.flush()
    return active_feeds(session)


def active_feeds(session: Session) -> list[FeedRef]:
    """Feeds in feeds.yaml that are not disabled (410 Gone)."""
    rows = session.scalars(
        select(FeedRow)
        .where(FeedRow.active, FeedRow.disabled_reason.is_(None))
        .order_by(FeedRow.name)
    )
    return [_feed_ref(row) for row in rows]


def due_feeds(
    session: Session, now: datetime, limit: int, busy: Iterable[int] = ()
) -> list[FeedRef]:
    """Active feeds whose next check has come (never-polled first), minus those in flight."""
    query = (
        select(FeedRow)
        .where(FeedRow.active, FeedRow.disabled_reason.is_(None))
        .where((FeedRow.next_check_at.is_(None)) | (FeedRow.next_check_at <= now))
        .order_by(FeedRow.next_check_at.is_not(None), FeedRow.next_check_at, FeedRow.id)
        .limit(limit)
    )
    busy_ids = list(busy)
    if busy_ids:
        query = query.where(FeedRow.id.not_in(busy_ids))
    return [_feed_ref(row) for row in session.scalars(query)]


def feed_ref(session: Session, feed_id: int) -> FeedRef:
    return _feed_ref(session.get_one(FeedRow, feed_id))


def unknown_entries(session: Session, feed_id: int, keys: Iterable[tuple[str, str]]) -> set[str]:
    """Of (guid, link) pairs, the guids not yet stored for this feed nor under that URL."""
    pairs = list(keys)
    guids = [g for g, _ in pairs]
    hashes = {url_hash(link): g for g, link in pairs}
    known = set(
        session.scalars(
            select(ArticleRow.guid).where(ArticleRow.feed_id == feed_id, ArticleRow.guid.in_(guids))
        )
    )
    for found in session.scalars(
        select(ArticleRow.url_hash).where(ArticleRow.url_hash.in_(hashes))
    ):
        known.add(hashes[found])
    return {g for g in guids if g not in known}


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a feed learned, to be kept on the feed row."""

    status: int | None
    next_in: float | None  # seconds until the next poll; None with `gone`
    error: str | None = None
    gone: bool = False
    etag: str | None = None
    last_modified: str | None = None
    items: int = 0
    content_hash: str | None = None
    moved_to: str | None = None
    poll_interval: float | None = None
    warning: str | None = None  # a malformed feed read anyway: what was wrong


HealthChange = str  # "down" or "recovered"


def record_poll(
    session: Session, feed_id: int, outcome: PollOutcome, down_after: float = 3600.0
) -> HealthChange | None:
    """Keep the poll's outcome on the feed row. Returns "down" once when the feed has been
    failing for ``down_after`` seconds, "recovered" once when a feed that was reported
    down works again, else None."""
    row = session.get_one(FeedRow, feed_id)
    now = utcnow()
    row.last_checked_at = now
    row.last_status = outcome.status
    row.next_check_at = now + timedelta(seconds=outcome.next_in) if outcome.next_in else None
    if outcome.gone:
        row.disabled_reason = outcome.error or "gone"
    if outcome.error is not None:
        row.error_count += 1
        row.last_error = outcome.error[:2000]
        row.down_since = row.down_since or now
        if not row.down_notified and (now - row.down_since).total_seconds() >= down_after:
            row.down_notified = True
            return "down"
        return None
    change = "recovered" if row.down_notified else None
    row.last_success_at = now
    row.error_count = 0
    row.last_error = None
    row.down_since = None
    row.down_notified = False
    row.items_seen += outcome.items
    if outcome.items or outcome.warning:  # a 304 says nothing about the body
        row.last_warning = outcome.warning[:2000] if outcome.warning else None
    if outcome.etag or outcome.last_modified:
        row.etag, row.last_modified = outcome.etag, outcome.last_modified
    if outcome.content_hash:
        row.content_hash = outcome.content_hash
    if outcome.moved_to:
        row.fetch_url = outcome.moved_to
    if outcome.poll_interval:
        row.poll_interval = outcome.poll_interval
    return change


def store_article(
    session: Session,
    article: Article,
    hits: Sequence[Hit],
    channels: Callable[[Hit], Iterable[str]],
) -> int | None:
    """Store an article with its hits and one pending delivery per channel; None if the
    article was already stored (by guid for this feed, or by canonical URL)."""
    doc = article.document
    row = ArticleRow(
        feed_id=article.feed_id,
        guid=article.guid,
        url=article.url,
        canonical_url=article.canonical_url,
        url_hash=url_hash(article.canonical_url),
        title=doc.title,
        text=doc.text,
        text_source=article.text_source,
        text_note=article.text_note,
        language=doc.language,
        published_at=article.published,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    for hit in hits:
        hit_row = HitRow(
            article_id=row.id,
            rule_id=hit.rule_id,
            rule_name=hit.rule_name,
            severity=int(hit.severity),
            score=hit.score,
            evidence=[
                {"term": e.term, "field": e.field, "snippet": e.snippet} for e in hit.evidence
            ],
        )
        session.add(hit_row)
        session.flush()
        for channel in dict.fromkeys(channels(hit)):
            session.add(
                DeliveryRow(hit_id=hit_row.id, channel=channel, status="pending", attempts=0)
            )
    session.flush()
    return row.id


def _evidence(raw: Iterable[dict[str, str]]) -> tuple[Evidence, ...]:
    return tuple(Evidence(term=e["term"], field=e["field"], snippet=e["snippet"]) for e in raw)


def due_alerts(session: Session, now: datetime, limit: int = 500) -> list[Alert]:
    query = (
        select(DeliveryRow, HitRow, ArticleRow, FeedRow)
        .join(HitRow, DeliveryRow.hit_id == HitRow.id)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
        .order_by(DeliveryRow.id)
        .limit(limit)
    )
    return [
        Alert(
            delivery_id=d.id,
            channel=d.channel,
            rule_id=h.rule_id,
            rule_name=h.rule_name,
            severity=Severity(h.severity),
            headline=a.title,
            source=f.name,
            url=a.url,
            published=a.published_at,
            evidence=_evidence(h.evidence),
        )
        for d, h, a, f in session.execute(query)
    ]


def mark_sent(session: Session, delivery_id: int) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status="sent", sent_at=utcnow(), attempts=DeliveryRow.attempts + 1, last_error=None)
    )


def mark_attempt_failed(
    session: Session, delivery_id: int, error: str, retry_at: datetime | None
) -> None:
    """Record a failed send; ``retry_at`` None means give up (status failed)."""
    values: dict[str, object] = {"attempts": DeliveryRow.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


def delivery_attempts(session: Session, delivery_id: int) -> int:
    return session.get_one(DeliveryRow, delivery_id).attempts


def feed_statuses(session: Session) -> list[FeedStatus]:
    counts = dict(
        session.execute(select(ArticleRow.feed_id, func.count()).group_by(ArticleRow.feed_id)).all()
    )
    return [
        FeedStatus(
            name=r.name,
            url=r.url,
            active=r.active,
            last_checked_at=r.last_checked_at,
            last_success_at=r.last_success_at,
            last_status=r.last_status,
            error_count=r.error_count,
            last_error=r.last_error,
            items_seen=r.items_seen,
            articles=counts.get(r.id, 0),
            fetch_url=r.fetch_url,
            disabled_reason=r.disabled_reason,
            next_check_at=r.next_check_at,
            poll_interval=r.poll_interval,
            down_since=r.down_since,
            last_warning=r.last_warning,
        )
        for r in session.scalars(select(FeedRow).order_by(FeedRow.name))
    ]


def recent_hits(session: Session, since: datetime, rule_id: str | None = None) -> list[HitView]:
    query = (
        select(HitRow, ArticleRow, FeedRow)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(HitRow.created_at >= since)
        .order_by(HitRow.created_at.desc(), HitRow.id.desc())
    )
    if rule_id:
        query = query.where(HitRow.rule_id == rule_id)
    rows = session.execute(query).all()
    deliveries: dict[int, list[tuple[str, str]]] = {}
    ids = [h.id for h, _, _ in rows]
    for d in session.scalars(select(DeliveryRow).where(DeliveryRow.hit_id.in_(ids))):
        deliveries.setdefault(d.hit_id, []).append((d.channel, d.status))
    return [
        HitView(
            hit_id=h.id,
            rule_id=h.rule_id,
            rule_name=h.rule_name,
            severity=Severity(h.severity),
            score=h.score,
            headline=a.title,
            url=a.url,
            feed=f.name,
            created_at=h.created_at,
            evidence=_evidence(h.evidence),
            deliveries=tuple(sorted(deliveries.get(h.id, []))),
        )
        for h, a, f in rows
    ]


def count_articles(session: Session, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ArticleRow).where(ArticleRow.fetched_at >= since)
        )
        or 0
    )


def iter_articles(session: Session, since: datetime, batch: int = 500) -> Iterator[StoredArticle]:
    """Stored articles fetched since ``since``, newest first, read in batches."""
    last_id: int | None = None
    while True:
        query = (
            select(ArticleRow, FeedRow)
            .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
            .where(ArticleRow.fetched_at >= since)
            .order_by(ArticleRow.id.desc())
            .limit(batch)
        )
        if last_id is not None:
            query = query.where(ArticleRow.id < last_id)
        rows = session.execute(query).all()
        if not rows:
            return
        for a, f in rows:
            doc = Document(a.title, a.text, a.language, a.url, f.name, tuple(f.tags or ()))
            yield StoredArticle(a.id, a.title, a.url, f.name, a.fetched_at, doc)
        last_id = rows[-1][0].id

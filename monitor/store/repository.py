"""Every query the service makes, behind functions that take a Session and return
frozen values. Writes for one article (article, hits, deliveries) share one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
from monitor.notify.stories import band_keys, pack, similarity, unpack
from monitor.store.models import (
    ArticleRow,
    ChannelNoticeRow,
    DeliveryRow,
    DigestRow,
    FeedRow,
    HitRow,
    StoryKeyRow,
    utcnow,
)


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
    stories: tuple[float, float] = (12 * 3600.0, 0.5),
) -> int | None:
    """Store an article with its hits and one pending delivery per channel, in the caller's
    transaction; None if the article was already stored (by guid for this feed, or by
    canonical URL). ``stories`` is (window seconds, similarity): an article close enough to
    one stored within the window joins that article's story."""
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
        signature=pack(article.signature) if article.signature else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    row.story_id = _story_of(session, row, article.signature, *stories)
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


def _story_of(
    session: Session, row: ArticleRow, sig: tuple[int, ...] | None, window: float, threshold: float
) -> int:
    """The story an article reports: the best close match's story, else its own."""
    if not sig:
        return row.id
    keys = band_keys(sig)
    since = utcnow() - timedelta(seconds=window)
    candidates = session.execute(
        select(ArticleRow.id, ArticleRow.story_id, ArticleRow.signature)
        .join(StoryKeyRow, StoryKeyRow.article_id == ArticleRow.id)
        .where(StoryKeyRow.key.in_(keys), StoryKeyRow.created_at >= since, ArticleRow.id != row.id)
        .distinct()
    ).all()
    best, story = threshold, row.id
    for other_id, other_story, other_sig in candidates:
        if other_sig and (score := similarity(sig, unpack(other_sig))) >= best:
            best, story = score, other_story or other_id
    session.add_all(StoryKeyRow(key=k, article_id=row.id) for k in keys)
    return story


def _evidence(raw: Iterable[dict[str, str]]) -> tuple[Evidence, ...]:
    return tuple(Evidence(term=e["term"], field=e["field"], snippet=e["snippet"]) for e in raw)


def _alert(
    d: DeliveryRow, h: HitRow, a: ArticleRow, f: FeedRow, first_headline: str | None = None
) -> Alert:
    return Alert(
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
        article_id=a.id,
        story_id=a.story_id,
        first_headline=first_headline,
    )


def _joined() -> Any:
    return (
        select(DeliveryRow, HitRow, ArticleRow, FeedRow)
        .join(HitRow, DeliveryRow.hit_id == HitRow.id)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
    )


def due_alerts(session: Session, now: datetime, limit: int = 500) -> list[Alert]:
    """Pending deliveries whose time has come, oldest first; ``first_headline`` is set when
    an earlier copy of the same story already went (or waits to go) to that channel for the
    same rule."""
    query = (
        _joined()
        .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
        .order_by(DeliveryRow.id)
        .limit(limit)
    )
    return [
        _alert(d, h, a, f, _first_of_story(session, d, h, a))
        for d, h, a, f in session.execute(query)
    ]


def _first_of_story(session: Session, d: DeliveryRow, h: HitRow, a: ArticleRow) -> str | None:
    if a.story_id is None:
        return None
    first: str | None = session.execute(
        select(ArticleRow.title)
        .join(HitRow, HitRow.article_id == ArticleRow.id)
        .join(DeliveryRow, DeliveryRow.hit_id == HitRow.id)
        .where(
            ArticleRow.story_id == a.story_id,
            ArticleRow.id != a.id,
            HitRow.rule_id == h.rule_id,
            DeliveryRow.channel == d.channel,
            DeliveryRow.id < d.id,
            DeliveryRow.status.in_(("pending", "sent", "digest")),
        )
        .order_by(DeliveryRow.id)
        .limit(1)
    ).scalar()
    return first


def set_status(
    session: Session,
    delivery_id: int,
    status: str,
    reason: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    values: dict[str, object] = {"status": status, "reason": reason}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


def sent_since(session: Session, channel: str, since: datetime) -> int:
    """Alerts a channel received one by one (not in digests) since ``since``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(DeliveryRow)
            .where(
                DeliveryRow.channel == channel,
                DeliveryRow.status == "sent",
                DeliveryRow.digest_id.is_(None),
                DeliveryRow.sent_at >= since,
            )
        )
        or 0
    )


def first_notice(session: Session, channel: str, kind: str, window: datetime) -> bool:
    """True exactly once per (channel, kind, window), across processes."""
    try:
        with session.begin_nested():
            session.add(ChannelNoticeRow(channel=channel, kind=kind, window=window))
            session.flush()
    except IntegrityError:
        return False
    return True


def claim_digest(session: Session, channel: str, scheduled_for: datetime) -> int | None:
    """The digest row for this slot, or None when another process already took it."""
    row = DigestRow(channel=channel, scheduled_for=scheduled_for, status="sending", items=0)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row.id


def digest_items(session: Session, channel: str) -> list[tuple[Alert, str]]:
    """Everything waiting for a channel's digest: (alert, status) with status digest or
    folded (another outlet's copy of a story, for "also reported by")."""
    query = (
        _joined()
        .where(DeliveryRow.channel == channel, DeliveryRow.status.in_(("digest", "folded")))
        .order_by(DeliveryRow.id)
    )
    return [(_alert(d, h, a, f), d.status) for d, h, a, f in session.execute(query)]


def story_headline(session: Session, story_id: int) -> tuple[str, str, str] | None:
    """(headline, source, url) of a story's first article."""
    row = session.execute(
        select(ArticleRow.title, FeedRow.name, ArticleRow.url)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(ArticleRow.id == story_id)
    ).first()
    return (row[0], row[1], row[2]) if row else None


def finish_digest(
    session: Session, digest_id: int, delivery_ids: Sequence[int], error: str | None = None
) -> None:
    digest = session.get_one(DigestRow, digest_id)
    digest.items = len(delivery_ids)
    if error:
        digest.status, digest.last_error = "failed", error[:2000]
        return
    digest.status, digest.sent_at = "sent", utcnow()
    if delivery_ids:
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(delivery_ids))
            .values(status="sent", sent_at=utcnow(), digest_id=digest_id)
        )


@dataclass(frozen=True)
class DeliveryView:
    id: int
    channel: str
    status: str
    attempts: int
    last_error: str | None
    reason: str | None
    rule_id: str
    headline: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime


def list_deliveries(
    session: Session, failed_only: bool = False, limit: int = 100
) -> list[DeliveryView]:
    query = _joined().order_by(DeliveryRow.id.desc()).limit(limit)
    if failed_only:
        query = query.where(DeliveryRow.status == "failed")
    return [
        DeliveryView(
            d.id,
            d.channel,
            d.status,
            d.attempts,
            d.last_error,
            d.reason,
            h.rule_id,
            a.title,
            d.created_at,
            d.sent_at,
            d.next_attempt_at,
        )
        for d, h, a, _f in session.execute(query)
    ]


def retry_deliveries(session: Session, delivery_id: int | None = None) -> int:
    """Put failed deliveries (one, or all) back in the queue, due now, attempts reset."""
    query = update(DeliveryRow).where(DeliveryRow.status == "failed")
    if delivery_id is not None:
        query = query.where(DeliveryRow.id == delivery_id)
    result = session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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

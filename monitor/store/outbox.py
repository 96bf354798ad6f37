"""The alert outbox: due deliveries, their routing state, retries, digests and notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from monitor.entities import (
    Alert,
    Facts,
    Severity,
)
from monitor.store.articles import _DELIVERIES, _evidence
from monitor.store.facts import facts_from_json
from monitor.store.models import (
    ArticleRow,
    ChannelNoticeRow,
    DeliveryRow,
    DigestRow,
    FeedRow,
    HitRow,
    StoryMessageRow,
    utcnow,
)

# What an alert needs, as columns: claiming a batch loaded four ORM objects per delivery,
# the largest part of the outbox's CPU during a cold cycle's drain.
_ALERTS = (
    select(
        DeliveryRow.id,
        DeliveryRow.channel,
        DeliveryRow.status,
        HitRow.rule_id,
        HitRow.rule_name,
        HitRow.severity,
        HitRow.evidence,
        HitRow.revision,
        ArticleRow.title,
        FeedRow.name,
        ArticleRow.url,
        ArticleRow.published_at,
        ArticleRow.id.label("article_id"),
        ArticleRow.story_id,
        DeliveryRow.targets_done,
        ArticleRow.facts,
        ArticleRow.language,
        ArticleRow.fetched_at,
        DeliveryRow.reason,
    )
    .join(HitRow, DeliveryRow.hit_id == HitRow.id)
    .join(ArticleRow, HitRow.article_id == ArticleRow.id)
    .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
)


def _alert(row: Any) -> Alert:
    return Alert(
        delivery_id=row.id,
        channel=row.channel,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        severity=Severity(row.severity),
        headline=row.title,
        source=row.name,
        url=row.url,
        published=row.published_at,
        evidence=_evidence(row.evidence),
        article_id=row.article_id,
        story_id=row.story_id,
        targets_done=frozenset(row.targets_done or ()),
        revision=row.revision,
        facts=(facts_from_json(row.facts) or Facts()).line(),
        language=row.language,
        seen=row.fetched_at,
    )


def _joined() -> Any:
    return (
        select(DeliveryRow, HitRow, ArticleRow, FeedRow)
        .join(HitRow, DeliveryRow.hit_id == HitRow.id)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        # a listed delivery names its article, it does not carry it
        .options(defer(ArticleRow.text), defer(ArticleRow.signature))
    )


def claim_due(
    session: Session,
    now: datetime,
    worker: str,
    lease: float,
    limit: int = 100,
    settled: datetime | None = None,
) -> list[Alert]:
    """Due pending deliveries, claimed by ``worker`` until ``now + lease``: rows another
    worker holds are skipped; a dead worker's claims expire and are taken over. With
    ``settled``, only those made before it (a story's other reports may still come).

    Run on the session's connection (Core): nothing here is read back as an object, and the
    ORM's row loading and update bookkeeping cost more than the queries on a cold start."""
    conn = session.connection()
    ids = list(
        conn.scalars(
            select(DeliveryRow.id)
            .join(HitRow, HitRow.id == DeliveryRow.hit_id)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
            .where((DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until <= now))
            .where(DeliveryRow.created_at <= (settled or now))
            # Under a backlog the most severe go first: a critical alert never waits behind
            # thousands of routine ones, oldest first within a severity.
            .order_by(HitRow.severity.desc(), DeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=DeliveryRow)
        )
    )
    if not ids:
        return []
    conn.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(ids))
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
    )
    found = {row.id: _alert(row) for row in conn.execute(_ALERTS.where(DeliveryRow.id.in_(ids)))}
    return [found[i] for i in ids]  # in the claim's order: most severe first


@dataclass(frozen=True)
class Routing:
    """Where an unsent delivery went: its new status, why, and when to look at it again."""

    delivery_id: int
    status: str
    reason: str | None = None
    retry_at: datetime | None = None


# One statement for a whole batch (executemany): after a cold start thousands of alerts are
# routed at once, and an ORM update each cost more than the rest of the drain.
_ROUTE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"))
    .values(
        status=bindparam("new_status"),
        reason=bindparam("why"),
        claimed_until=None,
        next_attempt_at=func.coalesce(
            bindparam("retry", type_=_DELIVERIES.c.next_attempt_at.type),
            _DELIVERIES.c.next_attempt_at,
        ),
    )
)


def set_statuses(session: Session, routings: Sequence[Routing]) -> None:
    if routings:
        session.connection().execute(
            _ROUTE,
            [
                {
                    "delivery": r.delivery_id,
                    "new_status": r.status,
                    "why": r.reason,
                    "retry": r.retry_at,
                }
                for r in routings
            ],
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


def digest_items(session: Session, channel: str) -> list[tuple[Alert, str, str | None]]:
    """Everything waiting for a channel's digest: (alert, status, why) with status digest or
    folded (another outlet's copy of a story, for "also reported by")."""
    query = _ALERTS.where(
        DeliveryRow.channel == channel, DeliveryRow.status.in_(("digest", "folded"))
    ).order_by(DeliveryRow.id)
    return [(_alert(row), row.status, row.reason) for row in session.execute(query)]


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
    session.execute(
        update(StoryMessageRow)
        .where(StoryMessageRow.channel == digest.channel, StoryMessageRow.status == "digest")
        .values(status="digested")
    )
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
    article_id: int = 0
    in_digest: bool = False

    @property
    def state(self) -> str:
        """Where the alert is, in words: the Alerts page and ``alerts list`` say the same."""
        due = f"{self.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        if self.status == "failed":
            return f"given up after {self.attempts} attempts"
        if self.status == "pending" and self.attempts:
            return f"retrying: attempt {self.attempts} failed, next at {due}"
        if self.status == "pending" and self.reason:
            return f"held ({self.reason}) until {due}"
        if self.status == "pending":
            return "due now"
        if self.status == "digest":
            return f"waiting for the digest ({self.reason or 'digest channel'})"
        if self.status == "folded":
            return "waiting for the digest (also reported by another outlet)"
        if self.status == "skipped":
            return f"not sent: {self.reason}"
        if self.status == "merged":
            return f"sent in one message with its story ({self.reason})"
        return f"sent in a digest ({self.reason})" if self.in_digest else "sent"


# The Alerts page's views: what each shows.
UNDELIVERED = ("pending", "digest", "folded", "failed")
VIEWS = {"waiting": UNDELIVERED, "failed": ("failed",), "all": None}


def list_deliveries(
    session: Session, failed_only: bool = False, limit: int = 100, view: str | None = None
) -> list[DeliveryView]:
    """Deliveries newest first: ``view`` "waiting" (everything not delivered yet, failed
    included), "failed" or "all" (``failed_only`` is "failed")."""
    statuses = VIEWS[view or ("failed" if failed_only else "all")]
    query = _joined().order_by(DeliveryRow.id.desc()).limit(limit)
    if statuses is not None:
        query = query.where(DeliveryRow.status.in_(statuses))
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
            a.id,
            d.digest_id is not None,
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
        .values(
            status="sent",
            sent_at=utcnow(),
            attempts=DeliveryRow.attempts + 1,
            last_error=None,
            claimed_until=None,
        )
    )


def mark_attempt_failed(
    session: Session,
    delivery_id: int,
    error: str,
    retry_at: datetime | None,
    targets_done: frozenset[str] = frozenset(),
) -> None:
    """Record a failed send, and which targets did take it; ``retry_at`` None means give up
    (status failed)."""
    values: dict[str, object] = {
        "attempts": DeliveryRow.attempts + 1,
        "last_error": error[:2000],
        "claimed_until": None,
    }
    if targets_done:
        values["targets_done"] = sorted(targets_done)
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))


def delivery_attempts(session: Session, delivery_id: int) -> int:
    return session.get_one(DeliveryRow, delivery_id).attempts

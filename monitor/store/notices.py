"""The notices outbox: operational messages (feed down, feed recovered) queued in the
transaction that found them and sent by the delivery pass, retried like alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.store.models import NoticeRow, utcnow

NOTICE_BATCH = 50


@dataclass(frozen=True)
class Notice:
    id: int
    channel: str
    title: str
    body: str
    attempts: int


def queue_notice(session: Session, channel: str, title: str, body: str) -> None:
    session.add(NoticeRow(channel=channel, title=title, body=body, status="pending", attempts=0))


def claim_notices(session: Session, now: datetime, worker: str, lease: float) -> list[Notice]:
    """Due notices for this worker, leased until ``now + lease`` (rows locked by another
    replica's claim are skipped; a dead worker's lease expires)."""
    rows = session.scalars(
        select(NoticeRow)
        .where(NoticeRow.status == "pending", NoticeRow.next_attempt_at <= now)
        .where(or_(NoticeRow.claimed_until.is_(None), NoticeRow.claimed_until <= now))
        .order_by(NoticeRow.id)
        .limit(NOTICE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.claimed_by, row.claimed_until = worker, now + timedelta(seconds=lease)
    return [Notice(r.id, r.channel, r.title, r.body, r.attempts) for r in rows]


def finish_notice(
    session: Session, notice_id: int, error: str | None = None, retry_at: datetime | None = None
) -> None:
    """Sent (no error), to be tried again at ``retry_at``, or failed for good."""
    row = session.get_one(NoticeRow, notice_id)
    row.claimed_by = row.claimed_until = None
    if error is None:
        row.status, row.sent_at = "sent", utcnow()
        return
    row.attempts += 1
    row.last_error = error[:2000]
    if retry_at is None:
        row.status = "failed"
    else:
        row.next_attempt_at = retry_at

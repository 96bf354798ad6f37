"""The notices outbox: operational messages (feed down, channel failing, alert given up)
queued in the transaction that found them and sent by the delivery pass, retried like
alerts.

A notice may have a kind. Notices of one kind for one channel are sent as one message:
when any of them is due, every pending one of that kind is claimed with it, so feeds that
go down within the same few minutes are named in one message, not one each. Such notices
are queued a little in the future (``MONITOR_NOTICE_BATCH``) to let the others gather.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.models import NoticeRow, utcnow

ADMIN_CHANNEL = "admin"  # where operational notices go
NOTICE_BATCH = 50
# How a message of several notices of one kind is titled.
GROUP_TITLES = {
    "feed_down": "Feeds down",
    "feed_disabled": "Feeds disabled",
    "feed_recovered": "Feeds recovered",
    "given_up": "Alerts given up",
}


@dataclass(frozen=True)
class Notice:
    ids: tuple[int, ...]  # the rows this message stands for
    channel: str
    title: str
    body: str
    attempts: int

    @property
    def id(self) -> int:
        return self.ids[0]


def queue_notice(
    session: Session,
    channel: str,
    title: str,
    body: str,
    kind: str | None = None,
    delay: float = 0.0,
    now: datetime | None = None,
) -> None:
    """Queue a notice, due ``delay`` seconds after ``now`` (the caller's clock)."""
    due = (now or utcnow()) + timedelta(seconds=delay)
    session.add(
        NoticeRow(
            channel=channel,
            title=title,
            body=body,
            status="pending",
            attempts=0,
            kind=kind,
            next_attempt_at=due,
        )
    )


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(NoticeRow.claimed_until.is_(None), NoticeRow.claimed_until <= now)


def claim_notices(session: Session, now: datetime, worker: str, lease: float) -> list[Notice]:
    """Due notices for this worker, leased until ``now + lease`` (rows locked by another
    replica's claim are skipped; a dead worker's lease expires), with the pending notices
    of the same kind folded into one message each."""
    due = session.scalars(
        select(NoticeRow)
        .where(NoticeRow.status == "pending", NoticeRow.next_attempt_at <= now, _unclaimed(now))
        .order_by(NoticeRow.id)
        .limit(NOTICE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    rows = list(due) + _same_kind(session, due, now)
    for row in rows:
        row.claimed_by, row.claimed_until = worker, now + timedelta(seconds=lease)
    return _messages(rows)


def _same_kind(session: Session, due: Sequence[NoticeRow], now: datetime) -> list[NoticeRow]:
    """Pending notices not yet due whose kind and channel a due one has."""
    groups = {(r.channel, r.kind) for r in due if r.kind}
    if not groups:
        return []
    taken = {r.id for r in due}
    waiting = session.scalars(
        select(NoticeRow)
        .where(NoticeRow.status == "pending", NoticeRow.next_attempt_at > now, _unclaimed(now))
        .where(NoticeRow.kind.in_({kind for _, kind in groups}))
        .order_by(NoticeRow.id)
        .with_for_update(skip_locked=True)
    ).all()
    return [r for r in waiting if (r.channel, r.kind) in groups and r.id not in taken]


def _messages(rows: Sequence[NoticeRow]) -> list[Notice]:
    grouped: dict[tuple[str, str | int], list[NoticeRow]] = {}
    for row in rows:
        grouped.setdefault((row.channel, row.kind or row.id), []).append(row)
    notices = []
    for (channel, _), group in grouped.items():
        group.sort(key=lambda r: r.id)
        first = group[0]
        if len(group) == 1:
            title, body = first.title, first.body
        else:
            label = GROUP_TITLES.get(first.kind or "", "Notices")
            names = ", ".join(r.title.partition(": ")[2] or r.title for r in group)
            title = _shorten(f"{label} ({len(group)}): {names}")
            body = "\n\n".join(f"{r.title}\n{r.body}" for r in group)
        ids = tuple(r.id for r in group)
        notices.append(Notice(ids, channel, title, body, max(r.attempts for r in group)))
    return notices


def finish_notice(
    session: Session,
    notice_ids: int | Sequence[int],
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Sent (no error), to be tried again at ``retry_at``, or failed for good."""
    ids = [notice_ids] if isinstance(notice_ids, int) else list(notice_ids)
    for row in session.scalars(select(NoticeRow).where(NoticeRow.id.in_(ids))):
        row.claimed_by = row.claimed_until = None
        if error is None:
            row.status, row.sent_at = "sent", utcnow()
            continue
        row.attempts += 1
        row.last_error = error[:2000]
        if retry_at is None:
            row.status = "failed"
        else:
            row.next_attempt_at = retry_at


def _shorten(title: str, limit: int = 200) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"

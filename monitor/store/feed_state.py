"""Feed rows: syncing with feeds.yaml, what is due, and what each poll learned (ETag,
next check, error count, health)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, Update, bindparam, func, select, text, true, update
from sqlalchemy.orm import Session

from monitor.config import FeedConfig
from monitor.config.settings import default
from monitor.entities import (
    TALLIES,
    FeedRef,
)
from monitor.store import websub
from monitor.store.models import (
    FeedRow,
    utcnow,
)


def _feed_ref(row: FeedRow) -> FeedRef:
    return FeedRef(
        id=row.id,
        name=row.name,
        url=row.url,
        language=row.language,
        tags=tuple(row.tags or ()),
        full_text=row.full_text,
        interval=row.interval_seconds,
        lowest=row.min_interval or row.interval_seconds,
        highest=row.max_interval or row.interval_seconds,
        kind=row.kind or "rss",
        etag=row.etag,
        last_modified=row.last_modified,
        fetch_url=row.fetch_url,
        content_hash=row.content_hash,
        adaptive=row.adaptive,
        poll_interval=row.poll_interval,
        error_count=row.error_count,
        options=row.options or {},
        state=row.state or {},
    )


SYNC_LOCK = 727_002  # PostgreSQL advisory lock serialising feeds.yaml syncs at start-up


def sync_feeds(session: Session, feeds: Sequence[FeedConfig]) -> list[FeedRef]:
    """Make the feeds table agree with feeds.yaml (by name); feeds dropped from the file are
    deactivated, not deleted, so their articles and hits stay. Replicas starting together
    take turns (PostgreSQL advisory lock): otherwise both insert the same new feeds."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({SYNC_LOCK})"))
    rows = {row.name: row for row in session.scalars(select(FeedRow))}
    wanted = {feed.name for feed in feeds}
    for feed in feeds:
        row = rows.get(feed.name)
        if row is None:
            row = FeedRow(name=feed.name, error_count=0, items_seen=0)
            session.add(row)
        if row.url != feed.url or row.kind != feed.kind:  # start afresh, even if disabled
            row.etag = row.last_modified = row.fetch_url = row.content_hash = None
            row.disabled_reason = None
            row.next_check_at = None
            row.state = None
        row.url = feed.url
        row.kind = feed.kind
        row.options = dict(feed.options) or None
        row.language = feed.language
        row.tags = list(feed.tags)
        row.interval_seconds = feed.interval
        row.full_text = feed.full_text
        row.host = _host(row.fetch_url or feed.url)
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


CLAIM_LOCK = 727_001  # PostgreSQL advisory lock serialising claims (per-host counts exact)
CLAIM_LOCK_TIMEOUT = "5s"  # a claim that cannot get its locks gives up until the next tick


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def claim_due_feeds(
    session: Session,
    now: datetime,
    limit: int,
    worker: str,
    lease: float,
    per_host: int,
    in_flight: Iterable[int] = (),
) -> list[FeedRef]:
    """Due feeds for this worker, leased until ``now + lease``: rows locked by another
    transaction are skipped, feeds leased by other workers are not due, and no host gets
    more than ``per_host`` feeds polled at once across all workers. A dead worker's leases
    expire; this worker's own lease on a feed it is not polling (``in_flight``) is stale
    (a poll that could not even record its failure, a full disk) and is taken at once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{CLAIM_LOCK_TIMEOUT}'"))
        session.execute(text(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK})"))
    polling = list(in_flight)
    stale_own = (FeedRow.lease_owner == worker) & (
        FeedRow.id.not_in(polling) if polling else true()
    )
    busy: dict[str | None, int] = dict(
        session.execute(
            select(FeedRow.host, func.count())
            .where(FeedRow.lease_until > now, ~stale_own)
            .group_by(FeedRow.host)
        ).all()
    )
    # A body its hub pushed makes a feed due at once, unless it is backing off a failure.
    pushed = (FeedRow.error_count == 0) & websub.has_push()
    query = (
        select(FeedRow)
        .where(FeedRow.active, FeedRow.disabled_reason.is_(None))
        .where((FeedRow.next_check_at.is_(None)) | (FeedRow.next_check_at <= now) | pushed)
        .where(
            (FeedRow.lease_until.is_(None))
            | (FeedRow.lease_until <= now)
            | (FeedRow.lease_owner == worker)
        )
        .order_by(~pushed, FeedRow.next_check_at.is_not(None), FeedRow.next_check_at, FeedRow.id)
        .limit(limit * 4)
        .with_for_update(skip_locked=True)
    )
    if polling:
        query = query.where(FeedRow.id.not_in(polling))
    claimed = []
    for row in session.scalars(query):
        if busy.get(row.host, 0) >= per_host:
            continue
        busy[row.host] = busy.get(row.host, 0) + 1
        row.lease_owner, row.lease_until = worker, now + timedelta(seconds=lease)
        claimed.append(replace(_feed_ref(row), claimed_at=now))
        if len(claimed) >= limit:
            break
    return _with_push(session, claimed, now)


def _with_push(session: Session, feeds: list[FeedRef], now: datetime) -> list[FeedRef]:
    """The bodies hubs pushed for these feeds, and which of them a hub pushes to now."""
    ids = [feed.id for feed in feeds]
    waiting, live = websub.waiting(session, ids), websub.live(session, ids, now)
    return [
        replace(feed, pushed=waiting.get(feed.id, ()), subscribed=feed.id in live) for feed in feeds
    ]


def feed_ref(session: Session, feed_id: int) -> FeedRef:
    return _feed_ref(session.get_one(FeedRow, feed_id))


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
    state: Mapping[str, Any] | None = None  # the source's own state, when it has any
    tallies: Mapping[str, int] | None = None  # added to the feed's tally_<kind> columns
    started: datetime | None = None  # the next poll is due ``next_in`` after this (else now)
    pushes: tuple[int, ...] = ()  # pushed bodies the poll read: done with, either way


HealthChange = str  # "down", "disabled" or "recovered"
DOWN_AFTER: float = default("feed_down_after")


def _next_check(outcome: PollOutcome, now: datetime) -> datetime | None:
    if not outcome.next_in:
        return None
    due = (outcome.started or now) + timedelta(seconds=outcome.next_in)
    return max(due, now)  # a poll longer than the interval: the next one starts at once


_FEEDS = cast(Table, FeedRow.__table__)
_HEALTH = select(_FEEDS.c.id, _FEEDS.c.down_since, _FEEDS.c.down_notified).where(
    _FEEDS.c.id.in_(bindparam("feeds", expanding=True))
)
_ADD = "add_"  # a value named add_<column> is added to the column, not set


def record_poll(
    session: Session, feed_id: int, outcome: PollOutcome, down_after: float = DOWN_AFTER
) -> HealthChange | None:
    """Keep the poll's outcome on the feed row. Returns "down" once when the feed has been
    failing for ``down_after`` seconds, "disabled" when it answered that it is gone for
    good, "recovered" once when a feed that was reported down or disabled works again,
    else None."""
    return record_polls(session, [(feed_id, outcome)], down_after)[0]


def record_polls(
    session: Session, polls: Sequence[tuple[int, PollOutcome]], down_after: float = DOWN_AFTER
) -> list[HealthChange | None]:
    """``record_poll`` for several feeds in the caller's transaction: one read of their
    health columns, then one UPDATE per feed from statements built once per set of columns.
    Every poll ends here, so it avoids loading and flushing whole ORM rows and building an
    UPDATE per poll."""
    session.flush()  # feed rows changed earlier in this session are written first
    conn = session.connection()
    health = {
        row.id: (row.down_since, row.down_notified)
        for row in conn.execute(_HEALTH, {"feeds": [feed_id for feed_id, _ in polls]})
    }
    websub.drop_pushes(session, [p for _, outcome in polls for p in outcome.pushes])
    changes: list[HealthChange | None] = []
    for feed_id, outcome in polls:
        if feed_id not in health:  # the feed was removed meanwhile: nothing to keep
            changes.append(None)
            continue
        since, notified = health[feed_id]
        values, change = _poll_values(outcome, since, notified, down_after)
        conn.execute(_update(tuple(sorted(values))), values | {"feed": feed_id})
        # a feed twice in one batch: its second outcome sees what the first one wrote
        health[feed_id] = (values["down_since"], values.get("down_notified", notified))
        changes.append(change)
    return changes


def _poll_values(
    outcome: PollOutcome, down_since: datetime | None, notified: bool, down_after: float
) -> tuple[dict[str, object], HealthChange | None]:
    now = utcnow()
    values: dict[str, object] = {
        "lease_owner": None,
        "lease_until": None,
        "last_checked_at": now,
        "last_status": outcome.status,
        "next_check_at": _next_check(outcome, now),
    }
    change: HealthChange | None = None
    if outcome.gone:
        values["disabled_reason"] = outcome.error or "gone"
    if outcome.error is not None:
        down_since = down_since or now
        values |= _failure(outcome.error, down_since)
        if outcome.gone:  # told at once: a disabled feed is not polled again
            values["down_notified"], change = True, "disabled"
        elif not notified and (now - down_since).total_seconds() >= down_after:
            values["down_notified"], change = True, "down"
    else:
        values |= _success(outcome, now)
        change = "recovered" if notified else None
    return values, change


@functools.cache
def _update(columns: tuple[str, ...]) -> Update:
    """The UPDATE setting these columns: a poll sets one of a handful of sets."""
    setters: dict[str, object] = {}
    for name in columns:
        if name.startswith(_ADD):
            column = name.removeprefix(_ADD)
            setters[column] = _FEEDS.c[column] + bindparam(name)
        else:
            setters[name] = bindparam(name)
    return update(_FEEDS).where(_FEEDS.c.id == bindparam("feed")).values(setters)


def _failure(error: str, down_since: datetime) -> dict[str, object]:
    return {
        f"{_ADD}error_count": 1,
        "last_error": error[:2000],
        "down_since": down_since,
    }


def _success(outcome: PollOutcome, now: datetime) -> dict[str, object]:
    values: dict[str, object] = {
        "last_success_at": now,
        "error_count": 0,
        "last_error": None,
        "down_since": None,
        "down_notified": False,
        f"{_ADD}items_seen": outcome.items,
    }
    if outcome.items or outcome.warning:  # a 304 says nothing about the body
        values["last_warning"] = outcome.warning[:2000] if outcome.warning else None
    if outcome.etag or outcome.last_modified:
        values["etag"], values["last_modified"] = outcome.etag, outcome.last_modified
    if outcome.content_hash:
        values["content_hash"] = outcome.content_hash
    if outcome.moved_to:
        values["fetch_url"], values["host"] = outcome.moved_to, _host(outcome.moved_to)
    if outcome.poll_interval:
        values["poll_interval"] = outcome.poll_interval
    if outcome.state:
        values["state"] = dict(outcome.state)
    for kind, count in (outcome.tallies or {}).items():
        if count and kind in TALLIES:
            values[f"{_ADD}tally_{kind}"] = count
    return values

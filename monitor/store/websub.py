"""WebSub's rows: each feed's subscription at its hub, and the bodies hubs pushed until the
feed's next poll reads them (``monitor.websub`` drives both)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, delete, select, update
from sqlalchemy.orm import Session

from monitor.entities import Push
from monitor.store.models import FeedRow, PushRow, SubscriptionRow


@dataclass(frozen=True)
class Advertised:
    """An active feed whose last read named a hub: it should be subscribed."""

    feed_id: int
    name: str
    url: str
    hub: str
    topic: str


@dataclass(frozen=True)
class Subscription:
    feed_id: int
    hub: str
    topic: str
    key: str
    secret: str
    mode: str  # subscribe | unsubscribe
    state: str  # requested | active | denied | failed
    next_at: datetime
    attempts: int
    expires_at: datetime | None = None
    lease_seconds: int | None = None
    last_error: str | None = None


def advertised(session: Session) -> dict[int, Advertised]:
    """Active RSS/Atom/JSON feeds whose hub the last successful read recorded."""
    rows = session.execute(
        select(FeedRow.id, FeedRow.name, FeedRow.url, FeedRow.fetch_url, FeedRow.state).where(
            FeedRow.active, FeedRow.disabled_reason.is_(None), FeedRow.kind == "rss"
        )
    )  # columns, not rows: the subscriber asks every few seconds
    found = {}
    for feed_id, name, url, fetch_url, state in rows:
        websub = (state or {}).get("websub") or {}
        if websub.get("hub"):
            topic = websub.get("topic") or fetch_url or url
            found[feed_id] = Advertised(feed_id, name, url, websub["hub"], topic)
    return found


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        row.feed_id,
        row.hub,
        row.topic,
        row.key,
        row.secret,
        row.mode,
        row.state,
        row.next_at,
        row.attempts,
        row.expires_at,
        row.lease_seconds,
        row.last_error,
    )


def subscriptions(session: Session) -> dict[int, Subscription]:
    return {row.feed_id: _subscription(row) for row in session.scalars(select(SubscriptionRow))}


def by_key(session: Session, key: str) -> Subscription | None:
    row = session.scalar(select(SubscriptionRow).where(SubscriptionRow.key == key))
    return _subscription(row) if row else None


def requested(session: Session, sub: Subscription, now: datetime) -> None:
    """Keep a subscription as asked of its hub (new, renewed, retried or unsubscribing)."""
    row = session.get(SubscriptionRow, sub.feed_id)
    if row is None:
        row = SubscriptionRow(feed_id=sub.feed_id, requested_at=now, pushes=0)
        session.add(row)
    row.hub, row.topic, row.key, row.secret = sub.hub, sub.topic, sub.key, sub.secret
    row.mode, row.state, row.next_at = sub.mode, sub.state, sub.next_at
    row.attempts, row.last_error, row.requested_at = sub.attempts, sub.last_error, now


def verified(session: Session, key: str, lease: int, renew_after: float, now: datetime) -> None:
    session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.key == key)
        .values(
            state="active",
            verified_at=now,
            lease_seconds=lease,
            expires_at=now + timedelta(seconds=lease),
            next_at=now + timedelta(seconds=renew_after),
            attempts=0,
            last_error=None,
        )
    )


def refused(session: Session, key: str, why: str, retry_at: datetime) -> None:
    """The hub denied it, or did not verify in time: tried again at ``retry_at``."""
    session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.key == key)
        .values(
            state="denied" if why.startswith("denied") else "failed",
            last_error=why[:2000],
            next_at=retry_at,
            expires_at=None,
        )
    )


def remove(session: Session, feed_id: int) -> None:
    """The subscription is gone (unsubscribed, or given up): so are its waiting bodies."""
    session.execute(delete(SubscriptionRow).where(SubscriptionRow.feed_id == feed_id))
    session.execute(delete(PushRow).where(PushRow.feed_id == feed_id))


def poll_soon(session: Session, feed_id: int, now: datetime) -> None:
    """A feed that lost its push goes back to being polled at its own pace, from now."""
    session.execute(
        update(FeedRow)
        .where(FeedRow.id == feed_id, FeedRow.next_check_at > now)
        .values(next_check_at=now)
    )


def add_push(session: Session, feed_id: int, body: bytes, content_type: str) -> None:
    session.add(PushRow(feed_id=feed_id, body=body, content_type=content_type[:200]))
    session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.feed_id == feed_id)
        .values(pushes=SubscriptionRow.pushes + 1)
    )


def waiting(session: Session, feed_ids: Iterable[int]) -> dict[int, tuple[Push, ...]]:
    """The bodies pushed for these feeds, oldest first."""
    ids = list(feed_ids)
    found: dict[int, tuple[Push, ...]] = {}
    if not ids:
        return found
    rows = session.scalars(select(PushRow).where(PushRow.feed_id.in_(ids)).order_by(PushRow.id))
    for row in rows:
        found[row.feed_id] = (*found.get(row.feed_id, ()), Push(row.id, row.body, row.content_type))
    return found


def live(session: Session, feed_ids: Iterable[int], now: datetime) -> set[int]:
    """Of these feeds, those whose hub pushes to us now (a verified lease not yet over)."""
    ids = list(feed_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(SubscriptionRow.feed_id).where(
                SubscriptionRow.feed_id.in_(ids),
                SubscriptionRow.mode == "subscribe",
                SubscriptionRow.state == "active",
                SubscriptionRow.expires_at > now,
            )
        )
    )


def has_push() -> Exists:
    """A claim's condition: the feed has a pushed body waiting."""
    return select(PushRow.id).where(PushRow.feed_id == FeedRow.id).exists()


def drop_pushes(session: Session, ids: Iterable[int]) -> None:
    wanted = list(ids)
    if wanted:
        session.execute(delete(PushRow).where(PushRow.id.in_(wanted)))


def prune_pushes(session: Session, before: datetime) -> int:
    """Bodies of feeds no longer polled (removed, disabled) would wait forever."""
    result = session.execute(delete(PushRow).where(PushRow.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def described(session: Session) -> dict[int, str]:
    """What each feed's push is doing, in a line for the feeds page and `feeds health`."""
    told = {}
    for row in session.scalars(select(SubscriptionRow)):
        if row.mode == "unsubscribe":
            line = "unsubscribing"
        elif row.state == "active" and row.expires_at is not None:
            line = (
                f"pushed by {row.hub} until {row.expires_at:%Y-%m-%d %H:%M} UTC "
                f"({row.pushes} notifications)"
            )
        elif row.state == "requested":
            line = f"asked {row.hub}, waiting for it to verify"
        else:
            line = row.last_error or row.state
        told[row.feed_id] = f"WebSub: {line}"
    return told

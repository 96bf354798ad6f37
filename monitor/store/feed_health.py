"""How feeds are doing, as the feeds page, `monitor feeds health` and /metrics say it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.entities import TALLIES
from monitor.store import websub
from monitor.store.models import ArticleRow, FeedRow


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
    tallies: Mapping[str, int] = field(default_factory=dict)  # entities.TALLIES, non-zero
    push: str | None = None  # its WebSub subscription, if any

    def state(self, down_after: float, now: datetime) -> str:
        return feed_state(
            self.disabled_reason, self.down_since, self.last_checked_at, down_after, now
        )


# What a feed can be, as `monitor feeds health` and /metrics (monitor_feeds) say it.
FEED_STATES = ("new", "ok", "failing", "down", "disabled")


def feed_state(
    disabled_reason: str | None,
    down_since: datetime | None,
    last_checked_at: datetime | None,
    down_after: float,
    now: datetime,
) -> str:
    """One feed's state: the CLI and the metrics both ask this, so they count alike."""
    if disabled_reason:
        return "disabled"
    if down_since is None:
        return "ok" if last_checked_at else "new"
    since = down_since if down_since.tzinfo else down_since.replace(tzinfo=UTC)
    return "down" if (now - since).total_seconds() >= down_after else "failing"


def feed_state_counts(session: Session, down_after: float, now: datetime) -> dict[str, int]:
    """How many active feeds are in each state."""
    counts = dict.fromkeys(FEED_STATES, 0)
    rows = session.execute(
        select(FeedRow.disabled_reason, FeedRow.down_since, FeedRow.last_checked_at).where(
            FeedRow.active
        )
    )
    for disabled, since, checked in rows:
        counts[feed_state(disabled, since, checked, down_after, now)] += 1
    return counts


def last_poll_success(session: Session) -> tuple[int, datetime | None]:
    """How many feeds are polled, and the latest successful poll among them."""
    count, latest = session.execute(
        select(func.count(), func.max(FeedRow.last_success_at)).where(
            FeedRow.active, FeedRow.disabled_reason.is_(None)
        )
    ).one()
    if isinstance(latest, datetime) and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return int(count), latest


def feed_statuses(session: Session) -> list[FeedStatus]:
    counts = dict(
        session.execute(select(ArticleRow.feed_id, func.count()).group_by(ArticleRow.feed_id)).all()
    )
    pushes = websub.described(session)
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
            tallies={k: n for k in TALLIES if (n := getattr(r, f"tally_{k}"))},
            push=pushes.get(r.id),
        )
        for r in session.scalars(select(FeedRow).order_by(FeedRow.name))
    ]

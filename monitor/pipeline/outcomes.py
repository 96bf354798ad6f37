"""Poll outcomes onto the feed rows, a batch at a time, and the notices they cause.

Polls that finish together are written in one transaction (``monitor.batch``); if the
database refuses that transaction, each outcome is written alone, so one it refuses (a
stray NUL in an error message) does not lose the others'. A feed that went down or came
back queues a notice for the ``admin`` channel in the same transaction (of a kind, so feeds
going down within the same few minutes are named in one message); the delivery pass sends
it, like every other message. Runs on the database thread.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from monitor.entities import FeedRef
from monitor.store import repository as repo
from monitor.store.notices import ADMIN_CHANNEL

Outcome = tuple[FeedRef, repo.PollOutcome]


def write_outcomes(
    sessions: sessionmaker[Session],
    down_after: float,
    batch: list[Outcome],
    notice_delay: float = 0.0,
) -> list[BaseException | None]:
    """One result per outcome: None when written, else why not. Health notices wait
    ``notice_delay`` seconds for others of their kind, to go out as one message."""
    try:
        with sessions.begin() as session:
            changes = repo.record_polls(session, [(f.id, o) for f, o in batch], down_after)
            for (feed, outcome), change in zip(batch, changes, strict=True):
                notice = _health_notice(down_after, feed, outcome, change)
                if notice is not None and change is not None:
                    kind = f"feed_{change}"
                    repo.queue_notice(session, ADMIN_CHANNEL, *notice, kind, notice_delay)
    except Exception as exc:
        if len(batch) == 1:
            return [exc]
        return [
            error
            for item in batch
            for error in write_outcomes(sessions, down_after, [item], notice_delay)
        ]
    return [None] * len(batch)


def _health_notice(
    down_after: float, feed: FeedRef, outcome: repo.PollOutcome, change: repo.HealthChange | None
) -> tuple[str, str] | None:
    if change == "down":
        return (
            f"Feed down: {feed.name}",
            f"{feed.name} ({feed.address}) has been failing for more than "
            f"{down_after / 60:g} minutes.\nLast error: {outcome.error}",
        )
    if change == "disabled":
        return (
            f"Feed disabled: {feed.name}",
            f"{feed.name} ({feed.address}) is gone for good ({outcome.error}) and is no "
            "longer polled. Give it a new URL in feeds.yaml (a new URL is polled afresh) "
            "or remove it.",
        )
    if change == "recovered":
        return f"Feed recovered: {feed.name}", f"{feed.name} ({feed.address}) works again."
    return None

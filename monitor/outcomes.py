"""Poll outcomes onto the feed rows, a batch at a time, and the feed-down notices they cause.

Polls that finish together are written in one transaction (``monitor.batch``); if the
database refuses that transaction, each outcome is written alone, so one it refuses (a
stray NUL in an error message) does not lose the others'. Runs on the database thread.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from monitor.entities import FeedRef
from monitor.notify.deliver import Sender
from monitor.store import repository as repo

Outcome = tuple[FeedRef, repo.PollOutcome]


def write_outcomes(
    sessions: sessionmaker[Session], sender: Sender, down_after: float, batch: list[Outcome]
) -> list[BaseException | None]:
    """One result per outcome: None when written, else why not."""
    try:
        with sessions.begin() as session:
            changes = repo.record_polls(session, [(f.id, o) for f, o in batch], down_after)
    except Exception as exc:
        if len(batch) == 1:
            return [exc]
        return [
            error
            for item in batch
            for error in write_outcomes(sessions, sender, down_after, [item])
        ]
    for (feed, outcome), change in zip(batch, changes, strict=True):
        _tell_health(sender, down_after, feed, outcome, change)
    return [None] * len(batch)


def _tell_health(
    sender: Sender,
    down_after: float,
    feed: FeedRef,
    outcome: repo.PollOutcome,
    change: repo.HealthChange | None,
) -> None:
    if change == "down":
        sender.notice(
            f"Feed down: {feed.name}",
            f"{feed.name} ({feed.address}) has been failing for more than "
            f"{down_after / 60:g} minutes.\nLast error: {outcome.error}",
        )
    elif change == "recovered":
        sender.notice(f"Feed recovered: {feed.name}", f"{feed.name} ({feed.address}) works again.")

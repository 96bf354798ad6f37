"""Keeping the database lean and telling how big it is.

Retention drops the text of old articles (and their story signatures) but keeps the
articles' rows, their hits and evidence, and every delivery: what alerted, and why, stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import (
    ArticleRow,
    Base,
    DeliveryRow,
    FeedRow,
    JobRunRow,
    StoryKeyRow,
    StoryLinkRow,
    StoryMessageRow,
)
from monitor.store.websub import prune_pushes

log = logging.getLogger(__name__)
PUSH_KEPT = 86400.0  # a pushed body an active feed's poll would have read within seconds


def claim_job(session: Session, job: str, slot: datetime) -> bool:
    """True for exactly one process per (job, slot)."""
    try:
        with session.begin_nested():
            session.add(JobRunRow(job=job, slot=slot))
            session.flush()
    except IntegrityError:
        return False
    return True


def run_retention(sessions: sessionmaker[Session], days: float, slot: datetime) -> int | None:
    """The retention job for one slot, once across replicas; None if another ran it."""
    with sessions.begin() as session:
        if not claim_job(session, "retention", slot):
            return None
        pruned = prune(session, slot - timedelta(days=days))
        stale = prune_pushes(session, slot - timedelta(seconds=PUSH_KEPT))
    log.info("retention: dropped the text of %d articles older than %g days", pruned, days)
    if stale:
        log.warning("retention: dropped %d WebSub pushes no poll read in a day", stale)
    return pruned


def release_leases(session: Session) -> None:
    """Forget every lease and claim: only for SQLite, where the process holding the
    single-process lock knows any lease it finds was left by a process that died."""
    session.execute(update(FeedRow).values(lease_owner=None, lease_until=None))
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.claimed_until.is_not(None))
        .values(claimed_by=None, claimed_until=None)
    )


def prune(session: Session, older_than: datetime) -> int:
    """Drop text and signatures of articles fetched before ``older_than``, and the story
    readings and what channels were told of stories older than it; return how many
    articles lost their text."""
    result = session.execute(
        update(ArticleRow)
        .where(ArticleRow.fetched_at < older_than, ArticleRow.text != "")
        .values(text="", signature=None)
    )
    session.execute(delete(StoryKeyRow).where(StoryKeyRow.created_at < older_than))
    session.execute(delete(StoryLinkRow).where(StoryLinkRow.created_at < older_than))
    told = func.coalesce(StoryMessageRow.followup_at, StoryMessageRow.sent_at)
    session.execute(delete(StoryMessageRow).where(told < older_than))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Stats:
    rows: dict[str, int]
    text_bytes: int
    articles_with_text: int
    oldest: datetime | None
    newest: datetime | None
    database_bytes: int | None
    deliveries: dict[str, int]


def stats(session: Session) -> Stats:
    rows = {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }
    text_bytes = session.scalar(select(func.coalesce(func.sum(func.length(ArticleRow.text)), 0)))
    with_text = session.scalar(
        select(func.count()).select_from(ArticleRow).where(ArticleRow.text != "")
    )
    oldest, newest = session.execute(
        select(func.min(ArticleRow.fetched_at), func.max(ArticleRow.fetched_at))
    ).one()
    deliveries = dict(
        session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)).all()
    )
    return Stats(
        rows,
        int(text_bytes or 0),
        int(with_text or 0),
        _aware(oldest),
        _aware(newest),
        _database_bytes(session),
        {str(k): int(v) for k, v in deliveries.items()},
    )


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _database_bytes(session: Session) -> int | None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
        return int(size) if size is not None else None
    database = getattr(bind, "url", None) and bind.url.database  # type: ignore[union-attr]
    if bind.dialect.name == "sqlite" and database and database != ":memory:":
        paths = [Path(database), Path(f"{database}-wal")]
        return sum(p.stat().st_size for p in paths if p.exists())
    return None

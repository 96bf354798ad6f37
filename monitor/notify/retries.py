"""What delivering costs and yields: retry times with backoff and jitter, the report of a
pass, and queued notices (feed down, recovered, rate limited), each tried like an alert."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar, TypeVarTuple

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import DeliveryError
from monitor.notify.sender import Sender
from monitor.store import repository as repo
from monitor.workers import worker_id

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=3)  # 3, 6, 12 ... 192 min: about 6 hours in all
JITTER = 0.2
log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    to_digest: int = 0
    folded: int = 0
    notices: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Count another drain's outcomes in this report."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.held += other.held
        self.to_digest += other.to_digest
        self.folded += other.folded
        self.notices += other.notices
        self.errors += other.errors


def retry_at(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed tries; None once they are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    jitter = 1 + JITTER * (2 * (rng or random).random() - 1)
    delay: timedelta = FIRST_RETRY * (2 ** (attempts - 1)) * jitter
    return now + delay


async def in_db(db: Executor | None, work: Callable[[*Ts], T], *args: *Ts) -> T:
    """``work(*args)`` on the database executor (None: the loop's default threads)."""
    return await asyncio.get_running_loop().run_in_executor(db, work, *args)


async def deliver_notices(
    sessions: sessionmaker[Session],
    sender: Sender,
    now: datetime,
    lease: float,
    report: DeliveryReport,
    db: Executor | None,
) -> None:
    """Queued notices, each tried like an alert; one its channel cannot take (no admin
    channel configured) is logged and given up at once."""
    notices = await in_db(db, _claim_notices, sessions, now, lease)
    for notice in notices:
        error: str | None = None
        try:
            await asyncio.to_thread(sender.notice, notice.title, notice.body, notice.channel)
        except DeliveryError as exc:
            error = str(exc)
        configured = notice.channel in sender.channels.urls or sender.channels.stdout_only
        when = retry_at(notice.attempts + 1, now) if error and configured else None
        if error:
            log.warning("notice %r not delivered: %s", notice.title, error)
        else:
            report.notices += 1
        await in_db(db, _finish_notice, sessions, notice.ids, error, when)


def _claim_notices(
    sessions: sessionmaker[Session], now: datetime, lease: float
) -> list[repo.Notice]:
    with sessions.begin() as session:
        return repo.claim_notices(session, now, worker_id(), lease)


def _finish_notice(
    sessions: sessionmaker[Session],
    notice_ids: tuple[int, ...],
    error: str | None,
    when: datetime | None,
) -> None:
    with sessions.begin() as session:
        repo.finish_notice(session, notice_ids, error, when)

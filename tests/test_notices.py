"""The notices outbox (feed down, recovered): queued in the transaction that found them,
claimed once across workers, sent, retried or given up; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, select

from monitor.notify.channels import Channels
from monitor.notify.deliver import deliver_due
from monitor.notify.sender import Sender
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import NoticeRow, utcnow
from tests.servers import http_server


def statuses(engine: Engine) -> list[tuple[str, int, str | None]]:
    with session_factory(engine)() as s:
        rows = s.scalars(select(NoticeRow).order_by(NoticeRow.id))
        return [(r.status, r.attempts, r.last_error) for r in rows]


def test_a_notice_is_claimed_by_one_worker_at_a_time(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.queue_notice(s, "admin", "Feed down: A", "A has been failing")
    now = utcnow()
    with sessions.begin() as s:
        [mine] = repo.claim_notices(s, now, "worker-1", 60)
    with sessions.begin() as s:
        assert repo.claim_notices(s, now, "worker-2", 60) == []  # leased
    with sessions.begin() as s:  # the first worker died: its lease expires
        [again] = repo.claim_notices(s, now + timedelta(seconds=61), "worker-2", 60)
    assert (mine.id, mine.title) == (again.id, "Feed down: A")
    with sessions.begin() as s:
        repo.finish_notice(s, mine.id)
    with sessions.begin() as s:
        assert repo.claim_notices(s, now + timedelta(hours=1), "worker-3", 60) == []
    assert statuses(engine) == [("sent", 0, None)]


def test_notices_are_sent_retried_and_given_up(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.queue_notice(s, "admin", "Feed down: A", "A has been failing")
        repo.queue_notice(s, "ops", "Feed down: B", "B has been failing")
    with http_server() as admin:
        admin.post_status = 500
        channels = Channels({"admin": (f"json://127.0.0.1:{admin.port}/",)})
        first = asyncio.run(deliver_due(sessions, Sender(channels, print)))
        assert first.notices == 0
        # refused: tried again later; no "ops" channel at all: given up at once
        [(a_status, a_tries, a_error), (b_status, _, b_error)] = statuses(engine)
        assert (a_status, a_tries) == ("pending", 1) and a_error
        assert b_status == "failed" and b_error and "MONITOR_CHANNEL_OPS" in b_error
        admin.post_status = 200
        later = utcnow() + timedelta(hours=1)
        second = asyncio.run(deliver_due(sessions, Sender(channels, print), later))
        assert second.notices == 1
        titles = [n["title"] for n in admin.posted_json()]
    assert titles == ["Feed down: A", "Feed down: A"]  # once refused, once delivered
    assert statuses(engine)[0][0] == "sent"


def test_in_stdout_mode_notices_are_printed(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.queue_notice(s, "admin", "Feed recovered: A", "A works again.")
    printed: list[str] = []
    report = asyncio.run(deliver_due(sessions, Sender(Channels({}), printed.append)))
    assert report.notices == 1
    assert printed == ["Feed recovered: A\nA works again.\n"]

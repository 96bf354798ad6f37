"""Poll outcomes written a batch at a time: one the database refuses does not lose the
others', and the health changes they cause are told."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from monitor.config import FeedConfig
from monitor.notify.channels import Channels
from monitor.notify.deliver import deliver_due
from monitor.notify.sender import Sender
from monitor.pipeline.outcomes import write_outcomes
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory
from tests.servers import http_server


def test_an_outcome_the_database_refuses_does_not_lose_the_others(postgres_url: str) -> None:
    """The batch's transaction fails; each outcome is then written alone."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE feeds RESTART IDENTITY CASCADE"))
    sessions = session_factory(engine)
    with sessions.begin() as s:
        a, b, c = repo.sync_feeds(
            s, [FeedConfig(url=f"https://{n}.example/rss", name=n) for n in "abc"]
        )
    batch = [
        (a, repo.PollOutcome(500, 60, error="HTTP 500")),
        (b, repo.PollOutcome(500, 60, error="HTTP 500 \x00")),  # PostgreSQL refuses NUL
        (c, repo.PollOutcome(304, 60)),
    ]
    with http_server() as admin:
        sender = Sender(Channels({"admin": (f"json://127.0.0.1:{admin.port}/admin",)}), print)
        errors = write_outcomes(sessions, 0.0, batch)
        report = asyncio.run(deliver_due(sessions, sender))  # notices go through the outbox
        notices = [n["title"] for n in admin.posted_json()]
    with sessions() as s:
        status = {st.name: (st.last_status, st.error_count) for st in repo.feed_statuses(s)}
    engine.dispose()
    assert errors[0] is None and errors[2] is None
    assert errors[1] is not None and "NUL" in str(errors[1])
    assert status == {"a": (500, 1), "b": (None, 0), "c": (304, 0)}
    assert notices == ["Feed down: a"]  # told once, after its outcome was kept
    assert report.notices == 1

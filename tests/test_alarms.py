"""Delivery failures told to the admin through real apprise to loopback receivers, on SQLite
and PostgreSQL: a failing channel once and its recovery once, alerts given up in one
message, feeds going down within the same few minutes in one message."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine

from monitor.config import FeedConfig
from monitor.config.settings import AdminSettings
from monitor.entities import FeedRef
from monitor.notify.channels import Channels
from monitor.notify.deliver import MAX_ATTEMPTS, deliver_due
from monitor.notify.sender import Sender
from monitor.pipeline.outcomes import write_outcomes
from monitor.store import repository as repo
from monitor.store.db import session_factory
from tests.servers import HTTPServer, http_server
from tests.test_alerts import WIRE, later, seed, statuses

ADMIN = AdminSettings(channel_failing_after=900, no_poll_after=1800, batch=120)


def two_channels(desk: HTTPServer, admin: HTTPServer) -> Sender:
    return Sender(
        Channels(
            {
                "desk": (f"json://127.0.0.1:{desk.port}/desk?rto=2&cto=2",),
                "admin": (f"json://127.0.0.1:{admin.port}/admin",),
            }
        ),
        print,
    )


def titles(hook: HTTPServer) -> list[str]:
    return [str(n["title"]) for n in hook.posted_json()]


def test_a_failing_channel_is_told_once_after_the_threshold_and_its_recovery_once(
    engine: Engine,
) -> None:
    seed(engine, [("Daily", "Belarus moves brigades", WIRE)])
    sessions = session_factory(engine)
    with http_server() as desk, http_server() as admin:
        desk.post_status = 500
        send = two_channels(desk, admin)

        def at(minutes: float) -> None:
            asyncio.run(deliver_due(sessions, send, later(minutes=minutes), admin=ADMIN))

        at(0)  # the first failure: not yet a notice, a channel may blink
        assert titles(admin) == []
        at(20)  # still failing after the 15-minute threshold: told
        at(40)  # and not again
        assert titles(admin) == ["Channel failing: desk"]
        [notice] = admin.posted_json()
        assert "HTTP 500" in str(notice["message"]) or "500" in str(notice["message"])
        desk.post_status = 200
        at(300)
        assert statuses(engine) == ["sent"]
        seed(engine, [("Weekly", "Iskander launchers moved", "Iskander launchers " * 30)])
        at(301)  # a second alert taken at once: no more notices
        assert titles(admin) == ["Channel failing: desk", "Channel recovered: desk"]
        assert len(titles(desk)) == 2 + 3  # three refused attempts, two alerts taken


def test_a_blink_shorter_than_the_threshold_is_not_told(engine: Engine) -> None:
    seed(engine, [("Daily", "Belarus moves brigades", WIRE)])
    sessions = session_factory(engine)
    with http_server() as desk, http_server() as admin:
        desk.post_statuses = [500]
        send = two_channels(desk, admin)
        asyncio.run(deliver_due(sessions, send, later(), admin=ADMIN))
        asyncio.run(deliver_due(sessions, send, later(minutes=5), admin=ADMIN))
        assert statuses(engine) == ["sent"]
        assert titles(admin) == []


def test_alerts_given_up_together_are_told_in_one_message(engine: Engine) -> None:
    seed(
        engine,
        [
            ("Daily", "Belarus moves brigades", WIRE),
            ("Weekly", "Iskander launchers moved to Asipovichy", "Iskander launchers " * 30),
        ],
    )
    sessions = session_factory(engine)
    quick = AdminSettings(channel_failing_after=10**6, no_poll_after=1800, batch=120)
    with http_server() as desk, http_server() as admin:
        desk.post_status = 503
        send = two_channels(desk, admin)
        for attempt in range(MAX_ATTEMPTS):
            when = later(hours=8 * attempt)
            asyncio.run(deliver_due(sessions, send, when, admin=quick))
        assert statuses(engine) == ["failed", "failed"]
        assert titles(admin) == []  # queued, waiting for others of their kind
        asyncio.run(deliver_due(sessions, send, later(hours=8 * MAX_ATTEMPTS), admin=quick))
        [message] = admin.posted_json()
    assert message["title"].startswith("Alerts given up (2): ")
    body = str(message["message"])
    assert "Belarus moves brigades" in body and "Iskander launchers moved" in body
    assert f"after {MAX_ATTEMPTS} attempts" in body and "monitor alerts retry --failed" in body


def feeds(engine: Engine, names: list[str]) -> list[FeedRef]:
    with session_factory(engine).begin() as s:
        configured = [FeedConfig(url=f"https://{n.lower()}.example/rss", name=n) for n in names]
        return repo.sync_feeds(s, configured)


def test_feeds_going_down_in_the_same_minutes_are_one_message_and_so_are_recoveries(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    a, b, c = feeds(engine, ["Alpha", "Bravo", "Charlie"])
    failed = repo.PollOutcome(None, 60, error="fetch: no complete answer within 30s")
    assert write_outcomes(sessions, 0.0, [(a, failed)], 120) == [None]
    assert write_outcomes(sessions, 0.0, [(b, failed), (c, failed)], 120) == [None, None]
    with http_server() as desk, http_server() as admin:
        send = two_channels(desk, admin)
        asyncio.run(deliver_due(sessions, send, later(), admin=ADMIN))
        assert titles(admin) == []  # they wait for each other
        asyncio.run(deliver_due(sessions, send, later(minutes=2), admin=ADMIN))
        assert titles(admin) == ["Feeds down (3): Alpha, Bravo, Charlie"]
        assert "no complete answer within 30s" in str(admin.posted_json()[0]["message"])
        ok = repo.PollOutcome(200, 60, items=1)
        write_outcomes(sessions, 0.0, [(a, ok), (b, ok)], 120)
        write_outcomes(sessions, 0.0, [(c, ok)], 120)
        # ``flush`` (the last pass of run --once) does not wait for the batch window
        asyncio.run(deliver_due(sessions, send, later(minutes=2), admin=ADMIN, flush=True))
        assert titles(admin)[1:] == ["Feeds recovered (3): Alpha, Bravo, Charlie"]
        asyncio.run(deliver_due(sessions, send, later(hours=2), admin=ADMIN))
        assert len(titles(admin)) == 2  # nothing twice


def test_a_feed_disabled_for_good_is_told_at_once_and_its_return_too(engine: Engine) -> None:
    sessions = session_factory(engine)
    [gone] = feeds(engine, ["Gone"])
    answer = "fetch: https://gone.example/rss: HTTP 410"
    outcome = repo.PollOutcome(410, 0, error=answer, gone=True)
    write_outcomes(sessions, 3600.0, [(gone, outcome)], 0)
    with http_server() as desk, http_server() as admin:
        send = two_channels(desk, admin)
        asyncio.run(deliver_due(sessions, send, later(), admin=ADMIN))
        assert titles(admin) == ["Feed disabled: Gone"]
        assert answer in str(admin.posted_json()[0]["message"])
        with sessions.begin() as s:  # the operator gives it a new URL: polled afresh
            [moved] = repo.sync_feeds(s, [FeedConfig(url="https://new.example/rss", name="Gone")])
        write_outcomes(sessions, 3600.0, [(moved, repo.PollOutcome(200, 60, items=2))], 0)
        asyncio.run(deliver_due(sessions, send, later(minutes=1), admin=ADMIN))
        assert titles(admin) == ["Feed disabled: Gone", "Feed recovered: Gone"]


def test_notices_waiting_for_their_kind_are_claimed_with_a_due_one(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.queue_notice(s, "admin", "Feed down: A", "a", kind="feed_down")
        repo.queue_notice(s, "admin", "Feed down: B", "b", kind="feed_down", delay=600)
        repo.queue_notice(s, "admin", "Feed down: C", "c", kind="feed_down", delay=6000)
        repo.queue_notice(s, "ops", "Feed down: D", "d", kind="feed_down", delay=600)
        repo.queue_notice(s, "admin", "Channel failing: x", "x")
    now = later()
    with sessions.begin() as s:
        claimed = repo.claim_notices(s, now, "w1", 60)
    by_title = {n.title: n for n in claimed}
    assert set(by_title) == {"Feeds down (3): A, B, C", "Channel failing: x"}
    assert (
        by_title["Feeds down (3): A, B, C"].body
        == "Feed down: A\na\n\nFeed down: B\nb\n\nFeed down: C\nc"
    )
    with sessions.begin() as s:  # the other channel's waits for its own time
        assert repo.claim_notices(s, now, "w2", 60) == []
        for notice in claimed:
            repo.finish_notice(s, notice.ids)
        [d] = repo.claim_notices(s, now + timedelta(seconds=601), "w2", 60)
    assert d.title == "Feed down: D" and d.channel == "ops"

"""Admin conditions on SQLite and PostgreSQL: a failure announced once after its threshold,
its recovery once and only after an announced failure, and of two workers racing on the
same failure exactly one announces it."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine

from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import utcnow


def test_a_condition_is_announced_once_after_its_threshold(engine: Engine) -> None:
    sessions = session_factory(engine)
    t0 = utcnow()
    steps = [(0, False), (5, False), (16, True), (30, False)]
    told = []
    for minutes, expected in steps:
        with sessions.begin() as s:
            told.append(
                repo.raise_condition(
                    s, "channel_failing", "desk", t0 + timedelta(minutes=minutes), 900, "HTTP 500"
                )
            )
        assert told[-1] is expected, minutes
    with sessions() as s:
        [wrong] = repo.conditions(s)
    assert (wrong.kind, wrong.subject, wrong.notified, wrong.detail) == (
        "channel_failing",
        "desk",
        True,
        "HTTP 500",
    )
    with sessions.begin() as s:
        assert repo.clear_condition(s, "channel_failing", "desk") is True
    with sessions.begin() as s:
        assert repo.clear_condition(s, "channel_failing", "desk") is False
        assert repo.conditions(s) == []


def test_a_failure_nobody_was_told_of_recovers_in_silence(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        assert not repo.raise_condition(s, "channel_failing", "desk", utcnow(), 900)
    with sessions.begin() as s:
        assert repo.clear_condition(s, "channel_failing", "desk") is False
        assert repo.conditions(s) == []


def test_sync_raises_the_new_and_clears_the_gone(engine: Engine) -> None:
    sessions = session_factory(engine)
    now = utcnow()
    with sessions.begin() as s:
        assert repo.sync_conditions(s, "rule_file", {"a.yaml": "bad", "b.yaml": "bad"}, now) == (
            ["a.yaml", "b.yaml"],
            [],
        )
    with sessions.begin() as s:
        assert repo.sync_conditions(s, "rule_file", {"b.yaml": "bad"}, now) == ([], ["a.yaml"])
        assert repo.sync_conditions(s, "other", {}, now) == ([], [])
    with sessions() as s:
        assert [(c.kind, c.subject) for c in repo.conditions(s)] == [("rule_file", "b.yaml")]


def test_of_workers_racing_on_one_failure_exactly_one_announces_it(engine: Engine) -> None:
    sessions = session_factory(engine)
    now = utcnow()
    results: list[bool] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        with sessions.begin() as s:
            results.append(repo.raise_condition(s, "no_poll", "feeds", now, 0, "none"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]

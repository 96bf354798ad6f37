"""Several `monitor run` processes on one PostgreSQL database share the work: every feed
polled once per interval, nothing doubled, a digest sent once per slot.

A worker killed with SIGKILL mid-cycle loses nothing: its leases expire and the others
take its feeds and deliveries over."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from monitor.store.db import make_engine
from tests.conftest import REPO, _truncate, clean_env
from tests.content import Item, rss
from tests.servers import HTTPServer, Route, http_server, wait_for

FEEDS = 300
WORDS = [
    w
    for w in (REPO / "tests" / "eval" / "articles.yaml").read_text("utf-8").split()
    if w.isalpha() and len(w) > 4
]
RULE = """id: belarus-troops
name: Troops in Belarus
severity: high
notify: [default, digest]
query: 'troops AND belarus'
"""


def site(web: HTTPServer, delay: float = 0.0) -> None:
    rng = random.Random(7)
    for i in range(FEEDS):
        words = " ".join(rng.sample(WORDS, 25))  # each story its own: no story grouping
        web.routes[f"/f/{i}.xml"] = Route(
            rss(
                f"Feed {i}",
                [
                    Item(
                        f"Troops deployed to Belarus, report {i}",
                        f"http://127.0.0.1:9/a/{i}",
                        f"Troops deployed to Belarus near post {i}: {words}.",
                    )
                ],
            ),
            delay=delay,
        )


def environment(tmp_path: Path, url: str, web: HTTPServer, hook: HTTPServer, lease: str) -> dict:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "".join(
            f"- {{name: 'Feed {i}', url: '{web.url(f'/f/{i}.xml')}', interval: 10m, "
            "adaptive: false, full_text: false}\n"
            for i in range(FEEDS)
        ),
        "utf-8",
    )
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "belarus-troops.yaml").write_text(RULE, "utf-8")
    (tmp_path / "monitor.yaml").write_text(
        "channels:\n  default: {rate_limit: 0}\n  digest: {mode: digest, digest: '* * * * *'}\n"
        # 300 reports written from one template would read as one story
        "stories: {embedder: 'off'}\n",
        "utf-8",
    )
    return clean_env(
        {
            "MONITOR_DATABASE_URL": url,
            "MONITOR_FEEDS": str(feeds),
            "MONITOR_RULES": str(rules),
            "MONITOR_CONFIG": str(tmp_path / "monitor.yaml"),
            "MONITOR_PER_HOST": "20",
            "MONITOR_HOST_DELAY": "0",
            "MONITOR_LEASE": lease,
            "MONITOR_EXTRACT_WORKERS": "1",
            "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/alerts",
            "MONITOR_CHANNEL_DIGEST": f"json://127.0.0.1:{hook.port}/digest",
        }
    )


@contextmanager
def workers(
    env: dict, count: int, logs: list[Path] | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=logs[i].open("wb") if logs else subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return int(value or 0)


@pytest.fixture
def pg(postgres_url: str) -> str:
    engine = make_engine(postgres_url)
    _truncate(engine)
    engine.dispose()
    return postgres_url


def test_three_workers_share_300_feeds_with_nothing_doubled(pg: str, tmp_path: Path) -> None:
    with http_server() as web, http_server() as hook:
        site(web)
        env = environment(tmp_path, pg, web, hook, lease="10m")
        with workers(env, 3):
            assert wait_for(
                lambda: len([r for r in hook.requests if r.path == "/alerts"]) >= FEEDS, timeout=120
            ), "not every alert arrived"
            assert wait_for(lambda: any(r.path == "/digest" for r in hook.requests), 90)
            time.sleep(3)  # anything doubled would show by now
            polls = Counter(r.path for r in web.requests)
            alerts = Counter(
                json.loads(r.body)["title"] for r in hook.requests if r.path == "/alerts"
            )
            digests = [r for r in hook.requests if r.path == "/digest"]
    assert len(polls) == FEEDS and set(polls.values()) == {1}  # each feed once this window
    assert len(alerts) == FEEDS and set(alerts.values()) == {1}  # each alert exactly once
    assert scalar(pg, "SELECT count(*) FROM articles") == FEEDS
    assert scalar(pg, "SELECT count(DISTINCT lease_owner) FROM feeds") == 0  # all released
    # Every digest comes from its own claimed slot (three workers would otherwise send up to
    # three per minute), and there was at least one. A long digest is split into parts
    # ("(1/4)"): each digest is counted by its first.
    slots = scalar(pg, "SELECT count(*) FROM digests WHERE channel = 'digest'")
    titles = [json.loads(r.body)["title"] for r in digests]
    firsts = [t for t in titles if not re.search(r"\(\d+/\d+\)$", t) or "(1/" in t]
    assert 1 <= len(firsts) <= slots, titles


def _state(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "(SELECT name, lease_owner, lease_until::text, next_check_at::text, last_error "
                "FROM feeds WHERE last_checked_at IS NULL LIMIT 5) UNION ALL "
                "(SELECT 'delivery ' || id::text, claimed_by, claimed_until::text, "
                "next_attempt_at::text, status || ' ' || coalesce(last_error, '') FROM deliveries "
                "WHERE channel = 'default' AND status != 'sent' LIMIT 5)"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_a_worker_killed_mid_cycle_loses_nothing(pg: str, tmp_path: Path) -> None:
    with http_server() as web, http_server() as hook:
        site(web, delay=0.3)  # slow feeds: the kill lands with leases held
        env = environment(tmp_path, pg, web, hook, lease="4s")
        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        with workers(env, 3, logs) as procs:
            assert wait_for(lambda: len(web.requests) >= 40, timeout=60)
            procs[0].kill()  # SIGKILL: no clean-up, its leases must expire
            done = wait_for(
                lambda: (
                    scalar(pg, "SELECT count(*) FROM feeds WHERE last_checked_at IS NULL") == 0
                    and scalar(
                        pg,
                        "SELECT count(*) FROM deliveries WHERE channel = 'default' "
                        "AND status != 'sent'",
                    )
                    == 0
                ),
                timeout=150,
            )
            state = _state(pg)
        tails = "\n".join(log.read_text("utf-8")[-3000:] for log in logs)
        assert done, f"not taken over: {state}\n{tails}"
        alerts = Counter(json.loads(r.body)["title"] for r in hook.requests if r.path == "/alerts")
    assert len(alerts) == FEEDS  # every alert arrived, the dead worker's included
    # A worker killed between a webhook's accept and its mark-sent doubles that alert; no more.
    assert sum(alerts.values()) - FEEDS <= 10
    assert scalar(pg, "SELECT count(*) FROM articles") == FEEDS

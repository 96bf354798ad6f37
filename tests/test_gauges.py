"""The gauges /metrics reads from the database, against SQLite and PostgreSQL: feeds are
counted by state exactly as `monitor feeds health` counts them, and the build and the
process's memory are exported."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine, update

from monitor.cli import cli
from monitor.config import FeedConfig
from monitor.metrics import REGISTRY
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.models import FeedRow, utcnow
from monitor.web.gauges import DatabaseGauges


def feeds_in_every_state(engine: Engine) -> None:
    sessions = session_factory(engine)
    names = ["New", "Ok", "Ok 2", "Failing", "Down", "Down 2", "Gone", "Removed"]
    with sessions.begin() as s:
        repo.sync_feeds(
            s, [FeedConfig(url=f"https://{i}.example/rss", name=n) for i, n in enumerate(names)]
        )
        now = utcnow()
        states = {
            "Ok": {"last_checked_at": now},
            "Ok 2": {"last_checked_at": now},
            "Failing": {"last_checked_at": now, "down_since": now - timedelta(minutes=5)},
            "Down": {"last_checked_at": now, "down_since": now - timedelta(hours=2)},
            "Down 2": {"last_checked_at": now, "down_since": now - timedelta(hours=3)},
            "Gone": {"last_checked_at": now, "disabled_reason": "HTTP 410", "down_since": now},
            "Removed": {"active": False, "down_since": now - timedelta(hours=9)},
        }
        for name, values in states.items():
            s.execute(update(FeedRow).where(FeedRow.name == name).values(**values))


def scrape(engine: Engine) -> str:
    """The database's gauges as /metrics shows them (on a registry of their own here: a web
    app in another test may have put its own, on another database, on REGISTRY)."""
    own = CollectorRegistry()
    own.register(DatabaseGauges(session_factory(engine), 3600.0))
    return generate_latest(own).decode()


def test_metrics_count_feeds_as_feeds_health_does(engine: Engine) -> None:
    feeds_in_every_state(engine)
    text = scrape(engine)
    metric = {
        state: int(float(value))
        for state, value in re.findall(r'^monitor_feeds\{state="(\w+)"\} (\S+)$', text, re.M)
    }
    assert metric == {"new": 1, "ok": 2, "failing": 1, "down": 2, "disabled": 1}
    down = re.search(r"^monitor_feeds_down (\S+)$", text, re.M)
    assert down and float(down.group(1)) == 3  # down or disabled, as the CLI's summary
    url = engine.url.render_as_string(hide_password=False)
    env = {"MONITOR_DATABASE_URL": url, "MONITOR_FEED_DOWN_AFTER": "1h"}
    health = CliRunner().invoke(cli, ["feeds", "health"], env=env)
    assert health.exit_code == 0, health.output
    told = dict(
        (state, int(n))
        for n, state in re.findall(r"(\d+) (new|ok|failing|down|disabled)", health.output)
    )
    assert told == {k: v for k, v in metric.items() if v}
    assert "7 feeds: " in health.output


def test_the_build_and_the_process_memory_are_exported() -> None:
    text = generate_latest(REGISTRY).decode()
    assert re.search(
        r'^monitor_build_info\{python="3\.\d+\.\d+",version="[\d.]+"\} 1\.0$', text, re.M
    )
    rss = re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M)
    assert rss and float(rss.group(1)) > 10 * 2**20

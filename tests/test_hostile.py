"""`monitor run --once` against a hostile web, with default settings."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.store.db import make_engine, session_factory
from monitor.store.models import ArticleRow, FeedRow
from tests.conftest import REPO, clean_env
from tests.hostile import GOOD, HOSTILE, hostile_web
from tests.servers import http_server

EXPECTED_ERRORS = {
    "HTML instead of feed": "not an RSS, Atom or JSON feed",
    "Empty body": "not an RSS, Atom or JSON feed",
    "Not found": "HTTP 404",
    "Gone": "HTTP 410",
    "Server error": "HTTP 500",
    "Rate limited": "HTTP 429",
    "Unavailable": "HTTP 503",
    "Redirect loop": "more than 5 redirects",
    "Huge body": "body larger than 10485760 bytes",
    "Gzip bomb": "body larger than 10485760 bytes",
    "Trickle": "no complete answer within 30s",
}


def peak_rss_kib(proc: subprocess.Popen[bytes]) -> int:
    """The service process's own peak resident memory (VmHWM), read until it exits: the
    rusage of a child counts the test runner's memory it was forked from."""
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        time.sleep(0.05)
    proc.wait()
    return peak


def test_run_once_survives_a_hostile_web(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with hostile_web() as site, http_server() as hook:
        env = clean_env(
            {
                "MONITOR_DATABASE_URL": db,
                "MONITOR_FEEDS": str(site.feeds_yaml(tmp_path / "feeds.yaml")),
                "MONITOR_RULES": str(REPO / "rules"),
                "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/hook",
            }
        )
        started = time.monotonic()
        with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as errors:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--once"],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=errors,
            )
            peak = peak_rss_kib(proc)
        elapsed = time.monotonic() - started
        err = (tmp_path / "err").read_text("utf-8", "replace")
        assert site.internal.requests == []  # nothing reached the "internal" host
        alerts = hook.posted_json()

    assert proc.returncode == 0, err
    assert elapsed < 60, f"took {elapsed:.1f}s"
    assert 50 * 1024 < peak < 400 * 1024, f"peak RSS {peak} KiB"  # 64 MiB body, bomb
    assert f"{len(GOOD) + len(HOSTILE)} feeds polled" in err

    engine = make_engine(db)
    with session_factory(engine)() as s:
        feeds = {f.name: f for f in s.scalars(select(FeedRow))}
        articles = {a.title: a for a in s.scalars(select(ArticleRow))}
    engine.dispose()
    for name, fragment in EXPECTED_ERRORS.items():
        assert fragment in (feeds[name].last_error or ""), (name, feeds[name].last_error)
        assert feeds[name].error_count == 1
    for name in GOOD:
        assert feeds[name].last_error is None and feeds[name].last_status == 200, name
    for title in (
        "Belarus moves brigades to the border",
        "Second good story",
        "Росія перекидає війська до Білорусі",
        "Troops redeployed to Belarus",
    ):
        assert articles[title].text_source == "page", title
    # Each story was alerted once (its headline is its first report's).
    headlines = [a["message"].splitlines()[0].rsplit(" [", 1)[0] for a in alerts]
    alerted = [articles[h].story_id for h in headlines if h in articles]
    wanted = {"Belarus moves brigades to the border", "Troops redeployed to Belarus"}
    assert {articles[t].story_id for t in wanted} <= set(alerted)
    assert len(alerted) == len(set(alerted))

    assert feeds["Moved"].fetch_url == site.web.url("/new-home.xml")
    assert feeds["Gone"].disabled_reason is not None
    now = datetime.now(UTC)
    limited = feeds["Rate limited"].next_check_at
    assert limited is not None and limited.replace(tzinfo=UTC) > now + timedelta(minutes=55)
    unavailable = feeds["Unavailable"].next_check_at  # Retry-After date capped at the backoff
    assert unavailable is not None and unavailable.replace(tzinfo=UTC) > now + timedelta(hours=5)
    assert feeds["Server error"].next_check_at is not None

    for title in ("Troops deployed to Belarus (direct)", "Troops deployed to Belarus (redirect)"):
        assert articles[title].text_source == "feed"
        assert "blocked destination" in (articles[title].text_note or "")
    assert feeds["Malformed XML"].last_warning  # read what it could, said what was wrong
    laughs = feeds["Billion laughs"]
    assert laughs.last_error is not None or all("lollol" not in t for t in articles)
    assert not any("root:" in a.text or "root:" in t for t, a in articles.items())  # no XXE

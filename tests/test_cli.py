"""End-to-end: the real ``monitor`` command in a subprocess, against loopback servers."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO, clean_env
from tests.servers import http_server, wait_for
from tests.site import news_site

RULES = ("troop-movements", "belarus-border-activity")


def monitor(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = clean_env(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=full_env,
        cwd=cwd or REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def service_env(site_feeds: Path, database_url: str, hook_port: int | None) -> dict[str, str]:
    env = {
        "MONITOR_DATABASE_URL": database_url,
        "MONITOR_FEEDS": str(site_feeds),
        "MONITOR_RULES": str(REPO / "rules"),
    }
    if hook_port:
        env["MONITOR_CHANNEL_DEFAULT"] = f"json://127.0.0.1:{hook_port}/hook"
    return env


def test_run_once_twice_alerts_each_story_once(database_url: str, tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        env = service_env(site.feeds_yaml(tmp_path / "feeds.yaml"), database_url, hook.port)
        first = monitor("run", "--once", env=env)
        alerts = hook.posted_json()
        second = monitor("run", "--once", env=env)
        after = hook.posted_json()

    assert first.returncode == 0, first.stderr
    assert (
        f"feed failed: Broken Test: fetch: {site.news.url('/broken.xml')}: HTTP 500" in first.stderr
    )
    assert "4 feeds polled (1 failed), 6 new articles" in first.stderr
    # One message per story, naming every rule that fired on it.
    troops = next(
        a for a in alerts if a["title"].endswith(": Belarus moves brigades to Ukrainian border")
    )
    assert troops["title"].startswith("[high] Belarus border activity, ")
    assert "Troop movements" in troops["title"]
    body = troops["message"]
    assert "Belarus border activity (belarus-border-activity), high" in body
    assert "Troop movements (troop-movements), high" in body
    assert "Source: Daily Test" in body
    assert f"Link: {site.news.url('/a/troops?utm_source=rss')}" in body
    assert "- brigade (title): Belarus moves brigades to Ukrainian border" in body
    facts = next(line for line in body.splitlines() if line.startswith("Figures and places: "))
    assert "2 brigades" in facts and "Mazyr (BY)" in facts  # read by the understand stage
    assert "describing the deployment as a snap" in body  # quotes from every rule, in turns
    assert not any("Library" in a["title"] for a in alerts)
    assert len(alerts) == len({a["title"] for a in alerts}) >= 3  # one message per story

    assert second.returncode == 0, second.stderr
    assert "0 new articles, 0 hits; alerts: 0 sent" in second.stderr
    assert after == alerts


def test_without_channels_alerts_go_to_stdout(tmp_path: Path) -> None:
    with news_site() as site:
        env = service_env(
            site.feeds_yaml(tmp_path / "f.yaml", broken=False),
            f"sqlite:///{tmp_path / 'm.db'}",
            None,
        )
        done = monitor("run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert "Belarus moves brigades to Ukrainian border [en]" in done.stdout
    assert "Troop movements (troop-movements), high" in done.stdout
    assert "Why it matched:" in done.stdout


def test_undelivered_alerts_make_run_once_fail(tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        hook.post_status = 500
        env = service_env(
            site.feeds_yaml(tmp_path / "f.yaml"), f"sqlite:///{tmp_path / 'm.db'}", hook.port
        )
        done = monitor("run", "--once", env=env)
    assert done.returncode == 3
    assert "alerts not delivered" in done.stderr and "channel 'default'" in done.stderr


def test_broken_config_exits_non_zero_with_location(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- name: A\n  url: gopher://x\n", encoding="utf-8")
    done = monitor(
        "run",
        "--once",
        env={"MONITOR_FEEDS": str(feeds), "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"},
    )
    assert done.returncode == 1
    assert (
        f"error: {feeds}:2:8: 0.url: Value error, 'gopher://x' is not an http(s) URL" in done.stderr
    )
    bad_env = monitor("run", "--once", env={"MONITOR_FETCH_TIMEOUT": "x"})
    assert (
        bad_env.returncode == 1
        and "MONITOR_FETCH_TIMEOUT: 'x' is not a duration such as 30s" in bad_env.stderr
    )


def test_match_json_reports_both_shipped_rules_on_the_corpus() -> None:
    paths = sorted(str(p) for p in CORPUS.glob("*.txt"))
    done = monitor("match", "--json", *paths)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["input"] for line in lines] == paths
    assert {line["language"] for line in lines} == {"en"}  # identified, no feed to say it
    for line in lines:
        fired = {h["rule"]: h for h in line["hits"]}
        assert set(RULES) <= set(fired), line["input"]
        for hit in fired.values():
            assert hit["score"] > 0 and hit["evidence"][0]["term"] and hit["evidence"][0]["snippet"]
        assert "BY" in line["countries"] and {"Minsk", "BY"} <= {
            v for p in line["places"] for v in (p["name"], p["country"])
        }
    figures = [f for line in lines for f in line["figures"]]
    assert {"value": 5000.0, "unit": "troops", "kind": "people"}.items() <= figures[0].items()


def test_match_reads_html_and_stdin(tmp_path: Path) -> None:
    from tests.content import QUIET_TEXT, TROOPS_TEXT, page

    html = tmp_path / "a.html"
    html.write_bytes(page("Belarus moves brigades", TROOPS_TEXT))
    done = monitor("match", str(html), "-", stdin="Library news\n" + " ".join(QUIET_TEXT))
    assert done.returncode == 0, done.stderr
    assert "troop-movements (high, score" in done.stdout
    assert "-: 'Library news' (en)\n  no rule fires" in done.stdout


def test_match_names_a_missing_input(tmp_path: Path) -> None:
    done = monitor("match", str(tmp_path / "nope.txt"))
    assert done.returncode == 1 and f"error: {tmp_path / 'nope.txt'}: No such file" in done.stderr


def test_rules_check(tmp_path: Path) -> None:
    ok = monitor("rules", "check")
    assert ok.returncode == 0 and "0 problems" in ok.stderr
    (tmp_path / "bad.yaml").write_text("name: X\nseverity: high\nmatch:\n  al: [x]\n", "utf-8")
    bad = monitor("rules", "check", str(tmp_path))
    assert bad.returncode == 1
    assert f"{tmp_path / 'bad.yaml'}:4:3: unknown key 'al' (did you mean 'all'?)" in bad.stdout


def test_hits_feeds_and_db_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with news_site() as site, http_server() as hook:
        env = service_env(site.feeds_yaml(tmp_path / "f.yaml"), db, hook.port)
        assert monitor("db", "upgrade", env=env).returncode == 0
        assert monitor("run", "--once", env=env).returncode == 0
        hits = monitor("hits", "--rule", "troop-movements", "--since", "1h", env=env)
        feeds = monitor("feeds", "list", env=env)
        health = monitor("feeds", "health", env=env)
    assert hits.returncode == 0
    assert (
        "[high] troop-movements: Belarus moves brigades to Ukrainian border (Daily Test)"
        in hits.stdout
    )
    assert re.search(r"alerts: default:(sent|merged|folded)", hits.stdout)
    assert "belarus-border-activity" not in hits.stdout
    assert feeds.returncode == 0
    assert "Broken Test" in feeds.stdout and "last error: fetch:" in feeds.stdout
    assert health.returncode == 0
    broken = health.stdout.split("Broken Test", 1)[1].splitlines()
    assert broken[0].split()[0] == "failing" and "500" in broken[0]
    assert broken[1].strip().startswith("last error: fetch: http://127.0.0.1:")
    assert "Daily Test                   ok" in health.stdout
    assert "4 feeds: 3 ok, 1 failing" in health.stderr


def test_settings_table_is_the_readme_table() -> None:
    done = monitor("settings")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert done.stdout.strip() in readme


def test_service_polls_alerts_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        env = service_env(
            site.feeds_yaml(tmp_path / "f.yaml"), f"sqlite:///{tmp_path / 'm.db'}", hook.port
        )
        full_env = clean_env(env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_for(lambda: len(hook.posted_json()) >= 3, timeout=60)  # stories
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 25
    assert "service started: 4 feeds scheduled" in err and "stopped" in err


@pytest.mark.parametrize("command", [["--help"], ["run", "--help"], ["match", "--help"]])
def test_help_works(command: list[str]) -> None:
    assert monitor(*command).returncode == 0


def test_rules_check_shows_a_caret_under_a_query_error(tmp_path: Path) -> None:
    (tmp_path / "q.yaml").write_text(
        "name: Q\nseverity: high\nquery: '(troop* OR army AND belarus'\n", "utf-8"
    )
    (tmp_path / "r.yaml").write_text(
        "name: R\nseverity: high\nmatch:\n  any: ['re:(a)\\1']\n", "utf-8"
    )
    done = monitor("rules", "check", str(tmp_path))
    assert done.returncode == 1
    assert (
        f"{tmp_path / 'q.yaml'}:3:9: query: expected ')' to close the '(' here\n"
        "    (troop* OR army AND belarus\n    ^"
    ) in done.stdout
    assert (
        f"{tmp_path / 'r.yaml'}:4:9: term 're:(a)\\1': the regex engine (RE2) refuses it"
        in done.stdout
    )


def test_rules_test_passes_on_shipped_rules_and_fails_on_a_bad_example(tmp_path: Path) -> None:
    ok = monitor("rules", "test")
    assert ok.returncode == 0, ok.stdout
    assert "pass    troop-movements" in ok.stdout and "0 failed" in ok.stderr
    (tmp_path / "x.yaml").write_text(
        "name: X\nseverity: low\nmatch: {any: [tanks]}\n"
        "examples:\n  match: [Tanks roll in, Drones overhead]\n  no_match: [Tanks for nothing]\n",
        "utf-8",
    )
    bad = monitor("rules", "test", str(tmp_path / "x.yaml"))
    assert bad.returncode == 1
    assert "FAIL    x                             match     Drones overhead" in bad.stdout
    assert "FAIL    x                             no match  Tanks for nothing" in bad.stdout
    assert "1 passed, 2 failed" in bad.stderr


def test_rules_backtest_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with news_site() as site, http_server() as hook:
        env = service_env(site.feeds_yaml(tmp_path / "f.yaml"), db, hook.port)
        assert monitor("run", "--once", env=env).returncode == 0
    edited = tmp_path / "troop-movements.yaml"
    edited.write_text(
        "id: troop-movements\nname: T\nseverity: high\n"
        "query: 'troop* OR brigade* OR військ* OR library'\n",
        "utf-8",
    )
    done = monitor("rules", "backtest", str(edited), "--since", "1d", env=env)
    assert done.returncode == 0, done.stderr
    assert (
        "troop-movements: fires on" in done.stdout
        and "of 6 articles from the last 1d" in done.stdout
    )
    assert "compared with the live rule" in done.stdout
    assert "+ added:" in done.stdout and "Library budget approved" in done.stdout


def test_alerts_list_retry_digest_and_channels_test(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with news_site() as site, http_server() as hook:
        env = service_env(site.feeds_yaml(tmp_path / "f.yaml", broken=False), db, hook.port)
        hook.post_status = 500
        assert monitor("run", "--once", env=env).returncode == 3
        listed = monitor("alerts", "list", "--waiting", env=env)
        assert "pending" in listed.stdout and "last answer: channel 'default'" in listed.stdout
        assert "retrying: attempt 1 failed, next at" in listed.stdout
        import sqlite3

        with sqlite3.connect(tmp_path / "m.db") as conn:  # as if all 8 attempts had failed
            conn.execute("UPDATE deliveries SET status = 'failed', attempts = 8")
        failed = monitor("alerts", "list", "--failed", env=env)
        count = failed.stdout.count("failed ")
        assert count >= 6
        hook.post_status = 200
        assert monitor("alerts", "retry", "--failed", env=env).returncode == 0
        assert monitor("alerts", "retry", "999999", env=env).returncode == 1
        before = len(hook.posted_json())
        assert monitor("run", "--once", env=env).returncode == 0
        fresh = hook.posted_json()[before:]  # one message per story, not one per delivery
        assert 3 <= len(fresh) == len({m["title"] for m in fresh}) < count
        assert monitor("alerts", "list", "--failed", env=env).stdout.count("failed ") == 0
        test = monitor("channels", "test", "default", env=env)
        assert test.returncode == 0 and test.stdout.strip() == "default: json: accepted"
        assert hook.posted_json()[-1]["title"] == "monitor: test message for channel default"
        with sqlite3.connect(tmp_path / "m.db") as conn:  # other reports of the stories
            folded = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'folded'")
            waiting = folded.fetchone()[0]
        digest = monitor("alerts", "digest", env=env)
        assert digest.returncode == 0 and f"default: {waiting} items" in digest.stderr
    missing = monitor("channels", "test", "nowhere", env=env)
    assert missing.returncode == 1 and "set MONITOR_CHANNEL_NOWHERE" in missing.stderr


def test_a_crash_mid_delivery_loses_nothing_and_doubles_at_most_one(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with news_site() as site, http_server() as hook:
        env = service_env(site.feeds_yaml(tmp_path / "f.yaml", broken=False), db, hook.port)
        hook.post_delay = 1.0  # each alert takes a second to be accepted
        full_env = clean_env(env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--once"],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: len(hook.requests) >= 2, timeout=60)
        proc.kill()  # SIGKILL while an alert is in flight
        proc.wait()
        before = len(hook.posted_json())
        hook.post_delay = 0
        again = monitor("run", "--once", env=env)
        assert again.returncode == 0, again.stderr
        titles = [p["title"] + p["message"] for p in hook.posted_json()]
    import sqlite3

    with sqlite3.connect(tmp_path / "m.db") as conn:
        stories = conn.execute(
            "SELECT count(DISTINCT coalesce(a.story_id, a.id)) FROM deliveries d "
            "JOIN hits h ON h.id = d.hit_id JOIN articles a ON a.id = h.article_id"
        ).fetchone()[0]
        unsent = conn.execute(
            "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')"
        ).fetchone()[0]
    assert unsent == 0 and stories == len(set(titles)) > before  # every story arrived
    assert len(titles) - len(set(titles)) <= 1  # at most the one in flight twice


def test_a_second_run_on_the_same_sqlite_database_refuses(tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        env = service_env(
            site.feeds_yaml(tmp_path / "f.yaml", broken=False),
            f"sqlite:///{tmp_path / 'm.db'}",
            hook.port,
        )
        full_env = clean_env(env)
        first = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_for(lambda: len(hook.posted_json()) >= 1, timeout=60)
            second = monitor("run", "--once", env=env)
        finally:
            first.send_signal(signal.SIGTERM)
            first.communicate(timeout=30)
        stats = monitor("db", "stats", env=env)
    assert second.returncode == 1
    assert "another `monitor run` is using" in second.stderr and "PostgreSQL" in second.stderr
    assert stats.returncode == 0 and "articles" in stats.stdout and "deliveries" in stats.stdout
    assert monitor("db", "prune", env=env).returncode == 0


def test_run_keeps_start_up_objects_out_of_garbage_collection(
    database_url: str, tmp_path: Path
) -> None:
    with news_site() as site:
        env = service_env(site.feeds_yaml(tmp_path / "feeds.yaml"), database_url, None)
        done = monitor("run", "--once", env=env | {"MONITOR_LOG_LEVEL": "DEBUG"})

    assert done.returncode == 0, done.stderr
    assert "objects kept out of garbage collection" in done.stderr


def test_version_and_upgrades_that_say_what_they_did(tmp_path: Path) -> None:
    from monitor.store.db import head

    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    version = monitor("--version")
    assert version.returncode == 0 and version.stdout.startswith("monitor, version ")
    before = monitor("db", "current", env=env)
    assert before.returncode == 1 and "database empty" in before.stdout
    first = monitor("db", "upgrade", env=env)
    assert first.returncode == 0 and f"database upgraded from empty to {head()}" in first.stderr
    again = monitor("db", "upgrade", env=env)
    assert f"database is up to date (revision {head()})" in again.stderr
    now = monitor("db", "current", env=env)
    assert now.returncode == 0 and f"database {head()}, code {head()}: up to date" in now.stdout


def test_read_only_commands_never_migrate_or_sync(tmp_path: Path) -> None:
    """On an older schema they refuse and say what to run; on a current one `feeds list`
    shows the table as it is (only the service and `feeds sync` write it)."""
    from sqlalchemy import text

    from monitor.store.db import current, make_engine, upgrade
    from tests.conftest import downgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: Alpha Wire, url: 'https://a.example/rss'}\n", "utf-8")
    env = {"MONITOR_DATABASE_URL": url, "MONITOR_FEEDS": str(feeds)}
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        downgrade(conn, "0009")
    for command in (("db", "stats"), ("hits",), ("feeds", "list"), ("alerts", "list")):
        refused = monitor(*command, env=env)
        assert refused.returncode == 1, command
        assert "is at revision 0009" in refused.stderr and "monitor db upgrade" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert current(engine) == "0009"  # nothing migrated it
    upgrade(engine)
    assert "Alpha Wire" not in monitor("feeds", "list", env=env).stdout  # reading syncs nothing
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM feeds")).scalar() == 0
    synced = monitor("feeds", "sync", env=env)
    assert synced.returncode == 0 and "1 feeds active" in synced.stderr
    assert "Alpha Wire" in monitor("feeds", "list", env=env).stdout
    engine.dispose()


def test_a_database_in_a_missing_folder_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'm.db'}"}
    for command in (("db", "upgrade"), ("db", "stats")):
        done = monitor(*command, env=env)
        assert done.returncode == 1 and done.stderr.startswith("error: "), command
        assert "Traceback" not in done.stderr, command


def test_a_bad_channel_url_is_a_start_up_error_naming_the_variable(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: A, url: 'http://127.0.0.1:9/rss'}\n", "utf-8")
    env = {
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "MONITOR_FEEDS": str(feeds),
        "MONITOR_CHANNEL_DEFAULT": "slacks://T000/B000/XXXX",
        "MONITOR_CHANEL_DESK": "json://127.0.0.1:9/x",
    }
    done = monitor("run", "--once", env=env)
    assert done.returncode == 1
    assert "did you mean MONITOR_CHANNEL_DESK?" in done.stderr
    assert "error: MONITOR_CHANNEL_DEFAULT: URL 1 (slacks://…) is not one apprise" in done.stderr
    assert "Traceback" not in done.stderr and "Error: error" not in done.stderr

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, event, make_url, select, text

from monitor.config import Config, FetchSettings
from monitor.pipeline import storable
from monitor.service.app import open_services
from monitor.service.cycle import CycleReport, run_cycle
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory
from monitor.store.models import ArticleRow, HitRow
from tests.conftest import REPO
from tests.content import TROOPS_TEXT, Item, page, rss
from tests.servers import HTTPServer, Route, http_server, wait_for
from tests.site import Site, news_site


def cycle(config: Config) -> CycleReport:
    async def go() -> CycleReport:
        async with open_services(config, print) as app:
            with app.services.sessions() as s:
                feeds = repo.active_feeds(s)
            return await run_cycle(app, feeds)

    return asyncio.run(go())


def config_for(site: Site, hook: HTTPServer, database_url: str, tmp_path: Path) -> Config:
    return Config(
        database_url=database_url,
        feeds_path=site.feeds_yaml(tmp_path / "feeds.yaml"),
        rules_dir=REPO / "rules",
        channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
    )


def articles(database_url: str) -> dict[str, ArticleRow]:
    engine = make_engine(database_url)
    with session_factory(engine)() as s:
        rows = {a.title: a for a in s.scalars(select(ArticleRow))}
        rules = {
            (a.title, h.rule_id)
            for h, a in s.execute(
                select(HitRow, ArticleRow).join(ArticleRow, HitRow.article_id == ArticleRow.id)
            )
        }
    engine.dispose()
    rows["__hits__"] = rules  # type: ignore[assignment]
    return rows


def two_item_cycle(
    name: str, items: list[Item], database_url: str, tmp_path: Path, raw: bytes = b""
) -> tuple[CycleReport, dict[str, ArticleRow]]:
    """One feed of ``items`` (the first about troops, the second quiet), polled once;
    ``raw`` is put into the feed's XML where the items say RAW."""
    with http_server() as site, http_server() as hook:
        links = [replace(i, link=site.url(f"/a/{n}")) for n, i in enumerate(items)]
        site.routes["/rss.xml"] = Route(rss(name, links).replace(b"RAW", raw))
        site.routes["/a/0"] = Route(page("Troops", TROOPS_TEXT))
        site.routes["/a/1"] = Route(page("Quiet", ["Nothing happened today at all."]))
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - name: {name}\n    url: {site.url('/rss.xml')}\n")
        config = Config(
            database_url=database_url,
            feeds_path=feeds,
            rules_dir=REPO / "rules",
            channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
        )
        return cycle(config), articles(database_url)


def test_a_cycle_stores_matches_and_alerts(database_url: str, tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        report = cycle(config_for(site, hook, database_url, tmp_path))
        stored = articles(database_url)
        alerts = hook.posted_json()

    by_feed = {p.feed: p for p in report.polls}
    assert by_feed["Broken Test"].error == f"fetch: {site.news.url('/broken.xml')}: HTTP 500"
    assert by_feed["Daily Test"].new == 3 and by_feed["Kyiv Test"].new == 1

    troops = stored["Belarus moves brigades to Ukrainian border"]
    assert troops.text_source == "page" and "mechanised brigades" in troops.text
    assert "cookies" not in troops.text and troops.text_note is None
    assert troops.canonical_url == site.news.url("/a/troops")
    gone = stored["Soldiers redeployed near Brest"]
    assert gone.text_source == "feed" and "HTTP 404" in (gone.text_note or "")

    hits = stored["__hits__"]
    assert ("Belarus moves brigades to Ukrainian border", "troop-movements") in hits
    assert ("Soldiers redeployed near Brest", "belarus-border-activity") in hits  # feed text
    assert ("Росія перекидає війська до Білорусі", "troop-movements") in hits
    assert not any(title == "Library budget approved" for title, _ in hits)

    # One message per story, naming every rule that fired on it.
    stories = {stored[title].story_id for title, _ in hits}
    assert len(alerts) == len(stories) == report.delivery.sent
    assert 3 <= len(stories) < len({title for title, _ in hits})
    [troops_alert] = [a for a in alerts if a["title"].endswith(": " + troops.title)]
    assert troops_alert["title"].startswith("[high] Belarus border activity, ")
    assert "Troop movements" in troops_alert["title"]  # every rule that fired, in one title


def test_links_to_internal_hosts_are_never_fetched(database_url: str, tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        cycle(config_for(site, hook, database_url, tmp_path))
        stored = articles(database_url)
        assert site.internal.requests == []
    direct = stored["Troops deployed to Belarus (direct)"]
    redirected = stored["Troops deployed to Belarus (redirect)"]
    for row in (direct, redirected):
        assert row.text_source == "feed"
        assert "blocked destination: 127.0.0.2 resolves to 127.0.0.2" in (row.text_note or "")
    assert ("Troops deployed to Belarus (direct)", "troop-movements") in stored["__hits__"]


def test_second_cycle_is_conditional_and_adds_nothing(database_url: str, tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        config = config_for(site, hook, database_url, tmp_path)
        cycle(config)
        sent_first = len(hook.posted_json())
        site.news.requests.clear()
        second = cycle(config)
        assert len(hook.posted_json()) == sent_first
    by_feed = {p.feed: p for p in second.polls}
    assert by_feed["Daily Test"].status == 304 and by_feed["Kyiv Test"].status == 304
    assert by_feed["Hostile Test"].new == 0  # no validators: fetched, parsed, nothing new
    assert sum(p.new for p in second.polls) == 0 and second.delivery.sent == 0
    feed_gets = [r for r in site.news.requests if r.path == "/rss.xml"]
    assert feed_gets[0].headers.get("If-None-Match") == '"rss-1"'
    assert not any(r.path.startswith("/a/") for r in site.news.requests)  # no page refetch


def test_failed_delivery_is_kept_and_retried_later(database_url: str, tmp_path: Path) -> None:
    with news_site() as site, http_server() as hook:
        hook.post_status = 500
        report = cycle(config_for(site, hook, database_url, tmp_path))
    assert report.delivery.sent == 0 and report.delivery.retrying > 0
    assert "channel 'default'" in report.delivery.errors[0]


def test_feed_down_is_told_once_and_recovery_once(database_url: str, tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.servers import Route

    with news_site() as site, http_server() as hook, http_server() as admin:
        config = replace(
            config_for(site, hook, database_url, tmp_path),
            feed_down_after=0.0,
            channels={
                "default": (f"json://127.0.0.1:{hook.port}/hook",),
                "admin": (f"json://127.0.0.1:{admin.port}/admin",),
            },
        )
        cycle(config)
        cycle(config)  # still failing: no second notice
        notices = [n["title"] for n in admin.posted_json()]
        assert notices == ["Feed down: Broken Test"]
        site.news.routes["/broken.xml"] = site.news.routes["/rss.xml"]
        site.news.routes["/rss.xml"] = Route(site.news.routes["/rss.xml"].body)
        cycle(config)
        cycle(config)
        notices = [n["title"] for n in admin.posted_json()]
    assert notices == ["Feed down: Broken Test", "Feed recovered: Broken Test"]
    assert "HTTP 500" in admin.posted_json()[0]["message"]


def test_nul_in_a_feed_is_dropped_and_does_not_block_the_feed(
    database_url: str, tmp_path: Path
) -> None:
    """feedparser passes ``&#0;`` through as NUL, which PostgreSQL refuses in text: unclean,
    the feed's every poll would fail on it and its other items would never be stored."""
    items = [
        Item("Troops RAW moved to the Belarus border", "", "x RAW y"),
        Item("Quiet day", "", "y"),
    ]
    report, stored = two_item_cycle("Poisoned", items, database_url, tmp_path, raw=b"&#0;")
    [poll] = report.polls
    assert poll.error is None and poll.new == 2
    title = "Troops  moved to the Belarus border"
    assert title in stored and "Quiet day" in stored
    assert (title, "troop-movements") in stored["__hits__"]  # type: ignore[operator]


def test_storable_text_has_no_nul_and_no_lone_surrogates() -> None:
    assert storable("a\x00b") == "ab"
    assert storable("a\ud800b") == "a?b"
    assert storable("Армія ✓") == "Армія ✓"


def test_an_article_the_database_refuses_is_skipped_alone(
    postgres_url: str, tmp_path: Path
) -> None:
    """A poll's articles share one transaction; when the database refuses one as data, the
    others are stored one by one and only that one is left out (and logged)."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:  # a schema that refuses long guids, as a stand-in
        conn.execute(text("TRUNCATE feeds, articles RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE articles ALTER COLUMN guid TYPE varchar(40)"))
    try:
        items = [
            Item("Troops moved", "", "x", guid="urn:" + "x" * 40),
            Item("Quiet day", "", "y"),
        ]
        report, stored = two_item_cycle("Long", items, postgres_url, tmp_path)
        [poll] = report.polls
    finally:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE feeds, articles RESTART IDENTITY CASCADE"))
            conn.execute(text("ALTER TABLE articles ALTER COLUMN guid TYPE text"))
        engine.dispose()
    assert poll.error is None and poll.new == 1
    assert set(stored) == {"Quiet day", "__hits__"}


def test_alerts_go_out_while_slow_feeds_are_still_polled(database_url: str, tmp_path: Path) -> None:
    """A cycle drains the outbox as it goes: one slow feed does not hold back the alert of
    an article another feed already delivered."""
    with http_server() as site, http_server() as hook:
        troops = Item("Troops moved to the Belarus border", site.url("/a/0"), "x")
        site.routes["/fast.xml"] = Route(rss("Fast", [troops]))
        site.routes["/a/0"] = Route(page("Troops", TROOPS_TEXT))
        site.routes["/slow.xml"] = Route(rss("Slow", []), delay=12)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            f"feeds:\n  - name: Fast\n    url: {site.url('/fast.xml')}\n"
            f"  - name: Slow\n    url: {site.url('/slow.xml')}\n"
        )
        settings = tmp_path / "monitor.yaml"  # a story's first message waits 1 s, not 10
        settings.write_text("stories: {settle: 1s}\n", "utf-8")
        config = Config(
            database_url=database_url,
            feeds_path=feeds,
            rules_dir=REPO / "rules",
            channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
            config_path=settings,
        )
        reports: list[CycleReport] = []
        running = threading.Thread(target=lambda: reports.append(cycle(config)))
        running.start()
        alerted = wait_for(hook.posted_json, timeout=10)
        cycle_running = running.is_alive()
        running.join(60)

    assert alerted and cycle_running, "no alert while the slow feed was being polled"
    report = reports[0]
    assert {p.feed: p.error for p in report.polls} == {"Fast": None, "Slow": None}
    assert report.delivery.sent == len(hook.posted_json()) >= 1


@contextlib.contextmanager
def feeds_locked(database_url: str, seconds: float, after: Callable[[], bool]) -> Iterator[None]:
    """Another connection holds a lock that stops writes to the feeds table for a while,
    from when ``after`` turns true."""
    url = make_url(database_url)

    def hold() -> None:
        wait_for(after, timeout=30)
        if url.get_backend_name() == "sqlite":
            conn = sqlite3.connect(str(url.database))
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.rollback()
            conn.close()
            return
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE feeds IN SHARE ROW EXCLUSIVE MODE"))
            time.sleep(seconds)
        engine.dispose()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        yield
    finally:
        holder.join()


def test_polls_finishing_together_are_recorded_in_few_transactions(
    database_url: str, tmp_path: Path
) -> None:
    """A warm cycle's outcomes go to the feed rows in batches (group commit), not in a
    transaction per feed, and every feed's own outcome is kept."""
    count = 30
    with http_server() as site, http_server() as hook:
        lines = ["feeds:"]
        for n in range(count):
            site.routes[f"/{n}.xml"] = Route(
                rss(f"F{n}", []), headers={"X-Feed": str(n)}, delay=0.3
            )
            lines.append(f"  - name: F{n}\n    url: {site.url(f'/{n}.xml')}")
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text("\n".join(lines) + "\n")
        config = Config(
            database_url=database_url,
            feeds_path=feeds,
            rules_dir=REPO / "rules",
            channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
            fetch=FetchSettings(per_host=count, host_delay=0),  # one server stands in for many
        )
        cycle(config)
        site.requests.clear()
        writes: list[int] = [0]  # outcome UPDATEs per transaction, the last one open

        def executed(*args: object) -> None:
            if str(args[2]).startswith("UPDATE feeds SET") and "last_checked_at" in str(args[2]):
                writes[-1] += 1

        def committed(_conn: object) -> None:
            if writes[-1]:
                writes.append(0)

        event.listen(Engine, "before_cursor_execute", executed)
        event.listen(Engine, "commit", committed)
        try:  # the first write waits for a lock while the other polls finish
            with feeds_locked(database_url, seconds=2.0, after=lambda: bool(site.requests)):
                second = cycle(config)
        finally:
            event.remove(Engine, "before_cursor_execute", executed)
            event.remove(Engine, "commit", committed)
    assert {(p.status, p.note) for p in second.polls} == {(200, "unchanged")}
    batches = writes[:-1]
    assert sum(batches) == count and len(batches) <= count // 5, batches
    assert max(batches) >= count // 2, batches  # those that finished during the lock
    engine = make_engine(database_url)
    with session_factory(engine)() as s:
        statuses = repo.feed_statuses(s)
        refs = [repo.feed_ref(s, f.id) for f in repo.active_feeds(s)]
        leased = s.scalar(text("SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL"))
    engine.dispose()
    assert len(statuses) == count and {st.last_status for st in statuses} == {200}
    assert all(r.content_hash for r in refs) and leased == 0

import asyncio
from pathlib import Path

from sqlalchemy import select

from monitor.app import open_services
from monitor.config import Config
from monitor.pipeline import CycleReport, run_cycle
from monitor.store import repository as repo
from monitor.store.models import ArticleRow, HitRow
from tests.conftest import REPO
from tests.servers import HTTPServer, http_server
from tests.site import Site, news_site


def cycle(config: Config) -> CycleReport:
    async def go() -> CycleReport:
        async with open_services(config, print) as (svc, _notes):
            with svc.sessions() as s:
                feeds = repo.active_feeds(s)
            return await run_cycle(svc, feeds)

    return asyncio.run(go())


def config_for(site: Site, hook: HTTPServer, database_url: str, tmp_path: Path) -> Config:
    return Config(
        database_url=database_url,
        feeds_path=site.feeds_yaml(tmp_path / "feeds.yaml"),
        rules_dir=REPO / "rules",
        channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
    )


def articles(database_url: str) -> dict[str, ArticleRow]:
    from monitor.store.db import make_engine, session_factory

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

    assert len(alerts) == len(hits)
    titles = sorted(a["title"] for a in alerts)
    assert "[high] Troop movements: Belarus moves brigades to Ukrainian border" in titles
    assert report.delivery.sent == len(hits)


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

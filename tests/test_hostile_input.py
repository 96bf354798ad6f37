"""Feeds that attack: redirects into the internal network, stacked decompression bombs,
poison items, character references the parser cannot take, more items than any outlet
publishes, and a poll that crashes; one cycle against loopback servers, on SQLite and
PostgreSQL. The canary on 127.0.0.2 stands for an internal service."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, FetchSettings
from monitor.entities import FeedRef
from monitor.pipeline import poll_safely
from monitor.service.app import open_services
from monitor.service.cycle import CycleReport, run_cycle
from monitor.sources import Net, SourcePoll
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory
from monitor.store.models import ArticleRow, FeedRow
from tests.conftest import REPO
from tests.content import Item, rss
from tests.servers import HTTPServer, Route, http_server
from tests.test_decode import zeros_compressed

GOOD = Item("Belarus moves brigades to the border", "/a/good", "Troops deployed to Belarus.")
POISON_LINKS = [
    "http://news.example:99999/x",
    "http://news.example:abc/x",
    "http://[::1/x",
    "http://news.example/" + "x" * 70_000,
]


@dataclass
class Web:
    outlet: HTTPServer
    canary: HTTPServer

    def feeds(self, path: Path) -> Path:
        names = {
            "Redirect inside": "/to-internal.xml",
            "Moved inside": "/moved-internal.xml",
            "Poison items": "/poison.xml",
            "Surrogates": "/surrogate.xml",
            "Stacked bomb": "/stacked.xml",
            "Flood": "/flood.xml",
            "Same outlet": "/good.xml",
        }
        lines = [
            f"- {{name: {n}, url: '{self.outlet.url(p)}', full_text: false}}"
            for n, p in names.items()
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def absolute(server: HTTPServer, item: Item) -> Item:
    return Item(item.title, server.url(item.link), item.summary, item.guid)


@pytest.fixture
def web() -> Iterator[Web]:
    with http_server() as outlet, http_server("127.0.0.2") as canary:
        canary.routes["/admin/feed.xml"] = Route(rss("Internal", [Item("Secret", "/s", "x")]))
        r, good = outlet.routes, absolute(outlet, GOOD)
        r["/to-internal.xml"] = Route(
            status=302, headers={"Location": canary.url("/admin/feed.xml")}
        )
        r["/moved-internal.xml"] = Route(
            status=301, headers={"Location": "http://[::1]:9/feed.xml"}
        )
        poison = [Item(f"Poison {n}", link, "x") for n, link in enumerate(POISON_LINKS)]
        script = Item("Click me", "javascript:fetch('/api/feeds')", "Troops", guid="urn:click")
        r["/poison.xml"] = Route(rss("Poison", [*poison, script, good]))
        body = rss("S", [Item("Broken &#55296; title", outlet.url("/a/s1"), "x &#xD800; y"), good])
        r["/surrogate.xml"] = Route(body.replace(b"&amp;#", b"&#"))
        r["/stacked.xml"] = Route(
            gzip.compress(zeros_compressed(64 << 20)), headers={"Content-Encoding": "gzip, gzip"}
        )
        many = [Item(f"Item {n}", outlet.url(f"/a/{n}"), "x") for n in range(1500)]
        r["/flood.xml"] = Route(rss("Flood", many))
        r["/good.xml"] = Route(rss("Good", [good]))
        yield Web(outlet, canary)


def config(database_url: str, feeds: Path) -> Config:
    # MONITOR_PER_HOST stays at its default: every feed here is on one host, as an
    # outlet's feeds are, and a feed that stalled would hold the others up.
    return Config(database_url=database_url, feeds_path=feeds, rules_dir=REPO / "rules")


def cycle(cfg: Config) -> CycleReport:
    async def go() -> CycleReport:
        async with open_services(cfg, print) as app:
            with app.services.sessions() as s:
                return await run_cycle(app, repo.active_feeds(s))

    return asyncio.run(go())


def test_a_hostile_outlet_reaches_nothing_inside_and_loses_no_good_item(
    web: Web, database_url: str, tmp_path: Path
) -> None:
    report = cycle(config(database_url, web.feeds(tmp_path / "feeds.yaml")))
    polls = {p.feed: p for p in report.polls}
    assert web.canary.requests == []  # the redirect was refused before any connection
    assert "blocked destination" in (polls["Redirect inside"].error or "")
    assert "blocked destination" in (polls["Moved inside"].error or "")
    assert "stacked encodings refused" in (polls["Stacked bomb"].error or "")
    engine = make_engine(database_url)
    with session_factory(engine)() as s:
        feeds = {f.name: f for f in s.scalars(select(FeedRow))}
        titles = {
            (feeds_by_id.name, a.title): a
            for a in s.scalars(select(ArticleRow))
            for feeds_by_id in [s.get_one(FeedRow, a.feed_id)]
        }
    engine.dispose()
    assert feeds["Moved inside"].fetch_url is None  # never moved to an address refused
    assert feeds["Redirect inside"].last_error and feeds["Redirect inside"].lease_until is None
    # poison items are skipped and counted where the feed's health shows them; the
    # javascript: item is kept, its "link" as text only, and the good item is stored
    # ("http://[::1/x" is dropped by the parser itself, so that item is kept by its title,
    # as text with no link)
    poison = polls["Poison items"]
    assert poison.error is None and poison.skipped == len(POISON_LINKS) - 1
    assert titles[("Poison items", "Poison 2")].url.startswith("title:")
    assert "with a broken link" in (poison.note or "")
    assert "1 with a link over 8000 characters" in (poison.note or "")
    assert ("Poison items", "Click me") in titles
    assert titles[("Poison items", "Click me")].url == "urn:click"
    assert ("Poison items", GOOD.title) in titles or ("Same outlet", GOOD.title) in titles
    # one character reference the parser cannot take does not lose the feed
    assert polls["Surrogates"].error is None
    assert ("Surrogates", "Broken \ufffd title") in titles
    # a flood is read up to the bound, the rest counted
    flood = polls["Flood"]
    assert flood.items == 1000 and flood.skipped == 500
    assert "500 past the first 1000" in (flood.note or "")
    assert polls["Same outlet"].error is None


class Crashing:
    kind = "rss"

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        raise RuntimeError("a bug met an item nobody foresaw")


def test_a_crashing_poll_is_recorded_and_releases_its_lease_at_once(
    database_url: str, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: A, url: 'http://127.0.0.1:9/a.xml'}\n", "utf-8")
    cfg = config(database_url, feeds)

    async def go() -> str | None:
        async with open_services(cfg, print) as app:
            app.services.sources = {"rss": Crashing()}
            with app.services.sessions.begin() as s:
                [feed] = repo.claim_due_feeds(
                    s, repo.utcnow(), 10, "worker", 600, FetchSettings().per_host
                )
            report = await poll_safely(app.services, feed)
            return report.error

    error = asyncio.run(go())
    assert error and "RuntimeError" in error
    engine = make_engine(database_url)
    with session_factory(engine)() as s:
        [row] = s.scalars(select(FeedRow))
    engine.dispose()
    assert row.lease_until is None and row.lease_owner is None
    assert row.error_count == 1 and "a bug met an item" in (row.last_error or "")

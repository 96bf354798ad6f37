"""Sources by kind: the RSS source against a loopback server, feeds.yaml's ``kind``, and the
pipeline reading any source through the registry, with the source's own state kept on the
feed row."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import Config, FetchSettings
from monitor.entities import FeedEntry, FeedRef, Push
from monitor.errors import ConfigError
from monitor.feeds.fetch import make_client
from monitor.feeds.hosts import HostLimiter
from monitor.pipeline import poll_feed
from monitor.service.app import open_services
from monitor.sources import SOURCES, Net, SourcePoll, load_feeds
from monitor.sources.rss import RssSource
from monitor.store import repository as repo
from tests.servers import HTTPServer, Route, http_server

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Troops moved to the border</title><link>http://127.0.0.1/a/1</link>
<guid isPermaLink="false">g1</guid><pubDate>Sat, 21 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Library news</title><link>http://127.0.0.1/a/2</link>
<guid isPermaLink="false">g2</guid></item>
<item><description>No title, link or guid</description></item>
</channel></rss>"""


def feed_at(url: str, **kw: object) -> FeedRef:
    base = FeedRef(1, "F", url, None, (), False, interval=300, lowest=120, highest=3600)
    return replace(base, **kw)  # type: ignore[arg-type]


def poll(server: HTTPServer, feed: FeedRef) -> SourcePoll:
    async def go() -> SourcePoll:
        async with make_client("test", 2) as client:
            net = Net(client, HostLimiter(2, 0), FetchSettings())
            return await RssSource().poll(feed, net)

    return asyncio.run(go())


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with http_server() as running:
        running.routes["/rss"] = Route(RSS, etag='"v1"')
        yield running


def test_rss_reads_entries_and_what_to_keep_for_next_time(server: HTTPServer) -> None:
    polled = poll(server, feed_at(server.url("/rss")))
    assert polled.status == 200 and polled.changed and polled.note is None
    assert [e.guid for e in polled.entries] == ["g1", "g2"]
    assert polled.skipped == 1  # the item with no title, link nor guid
    assert polled.etag == '"v1"' and polled.content_hash and polled.moved_to is None


def test_rss_304_and_an_unchanged_body_offer_nothing_new(server: HTTPServer) -> None:
    first = poll(server, feed_at(server.url("/rss")))
    not_modified = poll(server, feed_at(server.url("/rss"), etag='"v1"'))
    assert (not_modified.status, not_modified.changed, not_modified.note) == (
        304,
        False,
        "not modified",
    )
    assert not_modified.entries == ()
    server.routes["/rss"] = Route(RSS)  # a server that ignores conditional requests
    same = poll(server, feed_at(server.url("/rss"), content_hash=first.content_hash))
    assert (same.changed, same.note, same.entries) == (False, "unchanged", ())


def test_rss_permanent_redirect_moves_the_feed(server: HTTPServer) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": server.url("/rss")})
    polled = poll(server, feed_at(server.url("/old")))
    assert polled.moved_to == server.url("/rss") and len(polled.entries) == 2


def test_feeds_yaml_kind_must_be_a_known_source(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "- {name: A, url: 'https://a.example/rss'}\n"
        "- {name: B, url: 'https://b.example/page', kind: xpath}\n",
        "utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    column = path.read_text().splitlines()[1].index("xpath}") + 1
    assert [str(p) for p in err.value.problems] == [
        f"{path}:2:{column}: unknown kind 'xpath' (known: {', '.join(sorted(SOURCES))})"
    ]
    path.write_text("- {name: A, url: 'https://a.example/rss', kind: rss}\n", "utf-8")
    assert load_feeds(path)[0].kind == "rss"


class Listing:
    """A source written for this test: each poll offers one more entry, counting in its
    own state, which the pipeline keeps on the feed row and hands back."""

    kind = "rss"

    def __init__(self) -> None:
        self.seen: list[dict[str, object]] = []

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        self.seen.append(dict(feed.state))
        count = int(feed.state.get("count", 0)) + 1  # type: ignore[call-overload]
        entries = tuple(
            FeedEntry(f"post-{n}", None, f"Post {n}: troops", "", datetime.now(UTC))
            for n in range(1, count + 1)
        )
        return SourcePoll(200, entries, state={"count": count})


def test_the_pipeline_reads_a_source_through_the_registry_and_keeps_its_state(
    tmp_path: Path,
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: F, url: 'http://127.0.0.1:9/rss', full_text: false}\n", "utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "t.yaml").write_text("name: T\nseverity: low\nquery: troops\n")
    config = Config(
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        feeds_path=feeds,
        rules_dir=tmp_path / "rules",
    )
    source = Listing()

    async def go() -> list[tuple[int, int]]:
        async with open_services(config, print) as app:
            app.services.sources = {"rss": source}
            reports = []
            for _ in range(2):
                with app.services.sessions() as s:
                    [feed] = repo.active_feeds(s)
                report = await poll_feed(app.services, feed)
                reports.append((report.new, report.hits))
            return reports

    assert asyncio.run(go()) == [(1, 1), (1, 1)]  # the second poll: only post-2 is new
    assert source.seen == [{}, {"count": 1}]


def test_rss_keeps_the_hub_a_feed_advertises_header_first_and_says_it_once(
    server: HTTPServer,
) -> None:
    hubbed = RSS.replace(
        b"<channel>",
        b'<channel xmlns:atom="http://www.w3.org/2005/Atom">'
        b'<atom:link rel="hub" href="https://doc-hub.example/"/>',
    )
    server.routes["/hub"] = Route(hubbed, headers={"Link": '<https://hub.example/>; rel="hub"'})
    polled = poll(server, feed_at(server.url("/hub")))
    said = {"hub": "https://hub.example/", "topic": server.url("/hub")}
    assert polled.state == {"websub": said}  # the header's hub; the address as topic
    assert poll(server, feed_at(server.url("/hub"), state=polled.state)).state == {}
    server.routes["/hub"] = Route(RSS)  # it stopped advertising one
    assert poll(server, feed_at(server.url("/hub"), state=polled.state)).state == {"websub": None}


def test_what_a_hub_pushed_is_read_in_place_of_a_fetch(server: HTTPServer) -> None:
    pushed = (Push(1, RSS, "application/rss+xml"), Push(2, b"<html>not a feed</html>"))
    polled = poll(server, feed_at(server.url("/rss"), pushed=pushed))
    assert server.requests == []  # nothing fetched
    assert [e.guid for e in polled.entries] == ["g1", "g2"]
    assert polled.skipped == 2  # the item without identity, and the body that is no feed
    assert polled.problem and "a pushed body" in polled.problem
    assert polled.etag is None and polled.content_hash is None  # the feed's own stay

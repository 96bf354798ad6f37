"""Public Telegram channels through their web preview, served on loopback by a page made
for the tests (tests/telegram.py): posts with text, forwards, replies, links and media,
paging back on the first poll, and the channels that cannot be read, each saying why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import FeedConfig, FetchSettings, load_feeds
from monitor.entities import FeedRef
from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import LinkGuard
from monitor.feeds.hosts import HostLimiter
from monitor.sources import Net
from monitor.sources.telegram import TelegramSource, parse_preview, preview_url
from tests.servers import HTTPServer, Route, http_server
from tests.telegram import Post, page, serve_channel, serve_unknown, serve_without_preview

POSTS = [
    Post(
        101,
        "Колонна военной техники движется к Бресту.<br/>Около 40 единиц, "
        '<a href="https://news.example/brest">подробнее</a>',
        age_minutes=30,
    ),
    Post(102, None, age_minutes=20),  # a photo without a caption
    Post(103, "Подтверждаем: техника у КПП.", reply="Колонна военной техники движется к Бресту."),
    Post(104, "Border guards close the crossing", forwarded="Border Service"),
]


def feed(url: str, **options: object) -> FeedRef:
    return FeedRef(1, "Hajun", url, None, (), True, 600, 60, 3600, kind="telegram", options=options)


def poll(server: HTTPServer, ref: FeedRef):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        client = make_client("test", 4, allowed={f"127.0.0.1:{server.port}"}, guard_connect=True)
        net = Net(client, HostLimiter(4, 0), FetchSettings(), LinkGuard(()))
        try:
            return await TelegramSource().poll(ref, net)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_each_post_is_an_entry_with_its_context_links_and_permalink() -> None:
    preview = parse_preview(page("hajun", POSTS), "https://t.me/s/hajun")
    assert [p.id for p in preview.posts] == [101, 103, 104] and preview.media_only == 1
    first, reply, forward = preview.posts
    assert first.permalink == "https://t.me/hajun/101"
    assert first.text == "Колонна военной техники движется к Бресту.\nОколо 40 единиц, подробнее"
    assert first.links == ("https://news.example/brest",)
    assert reply.reply_to == "Колонна военной техники движется к Бресту."
    assert reply.text == "Подтверждаем: техника у КПП."  # the reply's quote is not its text
    assert forward.forwarded_from == "Border Service"
    assert first.published is not None and first.published.tzinfo is not None


def test_a_channel_is_given_by_name_or_by_its_address(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "- {kind: telegram, channel: '@hajun_by'}\n"
        "- {kind: telegram, name: Border, url: 'https://t.me/border_service'}\n",
        "utf-8",
    )
    by_name, by_url = load_feeds(tmp_path / "feeds.yaml", kinds=("rss", "telegram"))
    assert (by_name.name, by_name.url) == ("hajun_by", "https://t.me/s/hajun_by")
    assert preview_url(by_url.url) == "https://t.me/s/border_service"
    with pytest.raises(ValueError, match="channel: is for kind: telegram"):
        FeedConfig.model_validate({"channel": "x_y_z", "url": "https://e.org/rss"})


def test_the_first_poll_pages_back_and_later_polls_read_only_what_is_new() -> None:
    posts = [
        Post(n, f"Post number {n} about the border", age_minutes=100 - n) for n in range(1, 61)
    ]
    with http_server() as server:
        serve_channel(server, "hajun", posts)
        ref = feed(server.url("/hajun"), backfill=45)
        first = poll(server, ref)
        assert [e.guid for e in first.entries][:2] == [
            server.url("/hajun/60"),
            server.url("/hajun/59"),
        ]
        assert len(first.entries) == 45 and first.state == {"newest": 60}
        assert {r.path for r in server.requests} == {
            "/s/hajun",
            "/s/hajun?before=41",
            "/s/hajun?before=21",
        }
        assert all(e.complete and e.page_url is None for e in first.entries)
        serve_channel(server, "hajun", [*posts, Post(61, "A new post", age_minutes=0)])
        later = poll(server, ref.__class__(**{**ref.__dict__, "state": first.state}))
    assert [e.title for e in later.entries] == ["A new post"]


def test_a_posts_first_link_is_its_page_when_asked() -> None:
    with http_server() as server:
        serve_channel(server, "hajun", POSTS)
        found = poll(server, feed(server.url("/s/hajun"), follow_links=True))
    first = next(e for e in found.entries if e.guid.endswith("/101"))
    assert first.page_url == "https://news.example/brest" and first.link.endswith("/hajun/101")
    assert found.skipped == 1  # the photo without a caption, counted


def test_channels_that_cannot_be_read_say_why() -> None:
    with http_server() as server:
        serve_without_preview(server, "private_one")
        serve_unknown(server, "renamed_one")
        server.routes["/s/busy"] = Route(b"slow down", status=429, headers={"Retry-After": "120"})
        with pytest.raises(ParseError, match="'private_one' has no public web preview"):
            poll(server, feed(server.url("/s/private_one")))
        with pytest.raises(ParseError, match=r"no Telegram channel 'renamed_one' \(renamed or"):
            poll(server, feed(server.url("/s/renamed_one")))
        with pytest.raises(FetchError) as limited:
            poll(server, feed(server.url("/s/busy")))
    assert limited.value.status == 429 and limited.value.retry_after == 120


def test_a_telegram_post_and_an_outlets_article_on_one_event_are_one_story(
    database_url: str, tmp_path: Path
) -> None:
    """End to end with `monitor run --once`: a monitoring channel's post and a wire's
    article about the same column of tanks make one message; a post's link to an internal
    address is never fetched (the SSRF guard holds for posts too)."""
    import yaml

    from tests.conftest import REPO
    from tests.content import Item, rss
    from tests.test_cli import monitor

    events = yaml.safe_load((REPO / "tests/eval/stories.yaml").read_text("utf-8"))["events"]
    column = next(e for e in events if e["id"] == "tank-column-gomel")
    with http_server() as site, http_server("127.0.0.2") as internal, http_server() as hook:
        post = f"{column['ru']['title']}<br/>{column['ru']['lead']}"
        linked = f'Подробности: <a href="{internal.url("/secret")}">здесь</a>'
        serve_channel(site, "hajun", [Post(7, post, age_minutes=5), Post(8, linked)])
        wire = Item(column["en"]["title"], site.url("/a/1"), column["en"]["lead"])
        site.routes["/wire.xml"] = Route(rss("Wire", [wire]))
        (tmp_path / "feeds.yaml").write_text(
            f"- {{name: Wire, url: '{site.url('/wire.xml')}', full_text: false}}\n"
            f"- {{name: Hajun, kind: telegram, url: '{site.url('/s/hajun')}', "
            "options: {follow_links: true}}\n",
            "utf-8",
        )
        env = {
            "MONITOR_DATABASE_URL": database_url,
            "MONITOR_FEEDS": str(tmp_path / "feeds.yaml"),
            "MONITOR_RULES": str(REPO / "rules"),
            "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/desk",
        }
        done = monitor("run", "--once", env=env)
        messages = hook.posted_json()
    assert done.returncode == 0, done.stderr
    assert internal.requests == []  # the post's internal link was refused, not fetched
    [message] = messages  # one story, told once
    assert "reported by 2 outlets" in message["message"]
    assert "Hajun" in message["message"] and "Wire" in message["message"]


def test_feeds_add_writes_a_channel_as_a_telegram_entry(tmp_path: Path) -> None:
    from tests.test_cli import monitor

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "# our sources\nfeeds:\n  - {name: A, url: 'https://a.example/rss'}\n", "utf-8"
    )
    with http_server() as server:
        serve_channel(server, "hajun", POSTS)
        done = monitor(
            "feeds",
            "add",
            server.url("/hajun"),
            "--kind",
            "telegram",
            env={"MONITOR_FEEDS": str(feeds)},
        )
    assert done.returncode == 0, done.stderr
    assert f"added 'hajun': {server.url('/s/hajun')}" in done.stdout and "3 items" in done.stdout
    [_, entry] = load_feeds(feeds, kinds=("rss", "telegram"))
    assert (entry.name, entry.kind, entry.url) == ("hajun", "telegram", server.url("/s/hajun"))
    assert feeds.read_text("utf-8").startswith("# our sources")

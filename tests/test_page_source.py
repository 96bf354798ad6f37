"""Pages without feeds: a ministry-style news page on loopback, written for the tests, whose
article links become items (by a CSS selector or by the heuristic), each once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import FetchSettings
from monitor.entities import FeedRef
from monitor.errors import ParseError
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import LinkGuard
from monitor.feeds.hosts import HostLimiter
from monitor.sources import Net
from monitor.sources.page import PageSource, links
from tests.content import TROOPS_TEXT, page
from tests.servers import HTTPServer, Route, http_server


def news_page(items: list[tuple[str, str]]) -> bytes:
    """A ministry's news page: a header and navigation, the news list, a footer."""
    news = "".join(
        f'<li class="news-item"><span class="date">06.12.2026</span>'
        f'<a class="title" href="{href}">{title}</a></li>'
        for href, title in items
    )
    return (
        "<html><head><meta charset='utf-8'><title>Новости</title></head><body>"
        '<header><a href="/ru/">Главная страница министерства обороны</a></header>'
        '<nav><a href="/ru/about/">О министерстве и его руководстве</a>'
        '<a href="/ru/news/archive/">Архив новостей за все годы</a></nav>'
        f'<main><h1>Новости</h1><ul class="news">{news}</ul>'
        '<a href="https://other.example/ru/news/1/">Новость с чужого сайта о границе</a>'
        '<a href="/ru/news/?page=2">Дальше</a></main>'
        '<footer><a href="/ru/contacts/">Контакты пресс-службы министерства</a></footer>'
        "</body></html>"
    ).encode()


ITEMS = [
    ("/ru/news/2026/12/06/ucheniya-pod-brestom/", "Учения механизированных бригад под Брестом"),
    ("/ru/news/2026/12/05/priziv-rezervistov/", "Призыв резервистов в Гродненской области"),
    ("/ru/news/2026/12/04/vstrecha-ministra/", "Встреча министра с военными атташе"),
]


def feed(url: str, state: dict | None = None, **options: object) -> FeedRef:  # type: ignore[type-arg]
    return FeedRef(
        1,
        "MoD",
        url,
        None,
        (),
        True,
        600,
        60,
        3600,
        kind="page",
        options=options,
        state=state or {},
    )


def poll(server: HTTPServer, ref: FeedRef):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        client = make_client("test", 4, allowed={f"127.0.0.1:{server.port}"}, guard_connect=True)
        net = Net(client, HostLimiter(4, 0), FetchSettings(), LinkGuard(()))
        try:
            return await PageSource().poll(ref, net)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_the_heuristic_takes_the_article_links_not_the_sites_chrome() -> None:
    base = "http://127.0.0.1:8/ru/news/"
    found = links(news_page(ITEMS).decode(), base, None)
    assert found == [(f"http://127.0.0.1:8{href}", title) for href, title in ITEMS]


def test_a_css_selector_chooses_the_links_and_an_element_stands_for_its_link() -> None:
    base = "http://127.0.0.1:8/ru/news/"
    by_link = links(news_page(ITEMS).decode(), base, "ul.news a.title")
    by_item = links(news_page(ITEMS).decode(), base, "li.news-item")
    assert by_link == by_item and len(by_link) == 3
    with pytest.raises(ParseError, match="not a CSS selector"):
        links(news_page(ITEMS).decode(), base, "ul[[")


def test_new_links_become_items_once_and_the_first_poll_does_not_take_the_archive() -> None:
    with http_server() as server:
        server.routes["/ru/news/"] = Route(news_page(ITEMS))
        first = poll(server, feed(server.url("/ru/news/"), backfill=2))
        assert [e.title for e in first.entries] == [t for _, t in ITEMS[:2]]
        assert first.note == "first poll: 1 older links recorded"
        fresh = ("/ru/news/2026/12/07/zakrytie-kpp/", "Закрытие пункта пропуска Брест")
        server.routes["/ru/news/"] = Route(news_page([fresh, *ITEMS]))
        later = poll(server, feed(server.url("/ru/news/"), state=dict(first.state)))
        server.routes["/ru/news/"] = Route(b"<html><body><p>Maintenance</p></body></html>")
        with pytest.raises(ParseError, match="no article links found on the page"):
            poll(server, feed(server.url("/ru/news/"), state=dict(first.state)))
    assert [(e.link, e.title) for e in later.entries] == [(server.url(fresh[0]), fresh[1])]
    assert later.entries[0].summary == "" and not later.entries[0].complete  # page fetched


def test_a_news_page_without_a_feed_alerts_like_a_feed(tmp_path: Path) -> None:
    from tests.conftest import REPO
    from tests.test_cli import monitor

    with http_server() as site, http_server() as hook:
        article = "/ru/news/2026/12/06/brigades/"
        site.routes["/ru/news/"] = Route(
            news_page([(article, "Belarus moves brigades to Ukrainian border")])
        )
        site.routes[article] = Route(page("Belarus moves brigades", TROOPS_TEXT))
        (tmp_path / "feeds.yaml").write_text(
            f"- {{name: MoD, kind: page, url: '{site.url('/ru/news/')}'}}\n", "utf-8"
        )
        env = {
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "MONITOR_FEEDS": str(tmp_path / "feeds.yaml"),
            "MONITOR_RULES": str(REPO / "rules"),
            "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/desk",
        }
        done = monitor("run", "--once", env=env)
        [message] = hook.posted_json()
    assert done.returncode == 0, done.stderr
    assert message["title"].endswith(": Belarus moves brigades to Ukrainian border")
    assert "mechanised brigades" in message["message"]  # the article page was extracted

"""Finding a site's feed on a loopback site written for the tests: the address itself, the
page's advertised feed, a common path, nothing; an advertised link to another private
host is never fetched; a configured address that is a page says where its feed is."""

from __future__ import annotations

import asyncio

import pytest

from monitor.config import FetchSettings
from monitor.errors import ParseError
from monitor.feeds.alternates import advertised
from monitor.feeds.discover import Found, discover
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import host_port
from monitor.feeds.parse import parse_feed
from tests.content import Item, atom, rss
from tests.servers import HTTPServer, Route, http_server

FEED = rss("Desk", [Item("Troops moved", "http://example.org/a", "Brigades moved")])
PAGE = """<!doctype html><html><head><title>Site</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/atom+xml" title="News" href="/news/atom.xml">
<link rel="alternate" type="application/rss+xml" href="https://other.example/rss">
</head><body><h1>Site</h1></body></html>"""


def found(site: HTTPServer, path: str) -> Found:
    url = site.url(path)

    async def go() -> Found:
        client = make_client("test", 2, guarded=True, allowed={host_port(url)})
        async with client:
            return await discover(client, url, FetchSettings())

    return asyncio.run(go())


def test_the_links_a_page_advertises_in_order() -> None:
    assert advertised(PAGE, "http://site.example/home") == [
        "http://site.example/news/atom.xml",
        "https://other.example/rss",
    ]
    hostile = '<link rel="alternate" type="application/rss+xml" href="/f?<!channel> x">'
    [link] = advertised(hostile, "http://s.example/")
    assert "<" not in link and " " not in link  # never markup where it is shown


def test_a_feed_address_is_itself() -> None:
    with http_server() as site:
        site.routes["/rss.xml"] = Route(FEED, headers={"Content-Type": "application/rss+xml"})
        result = found(site, "/rss.xml")
    assert result.url.endswith("/rss.xml") and result.items == 1 and len(result.tried) == 1


def test_a_homepage_leads_to_its_advertised_feed() -> None:
    with http_server() as site:
        site.routes["/"] = Route(PAGE.encode(), headers={"Content-Type": "text/html"})
        site.routes["/news/atom.xml"] = Route(atom("News", [Item("A", "http://e.org/1", "x")]))
        result = found(site, "/")
    assert result.url == site.url("/news/atom.xml") and result.items == 1


def test_a_site_without_links_is_tried_at_common_paths() -> None:
    with http_server() as site:
        site.routes["/"] = Route(b"<html><body>Ministry news</body></html>")
        site.routes["/feed"] = Route(FEED)
        result = found(site, "/")
    assert result.url == site.url("/feed") and result.tried == (site.url("/"), site.url("/feed"))


def test_nothing_found_names_what_was_tried() -> None:
    with http_server() as site:
        site.routes["/"] = Route(b"<html><body>No feed here</body></html>")
        with pytest.raises(ParseError, match=r"no feed found \(tried .*/rss.xml"):
            found(site, "/")


def test_an_advertised_link_to_another_private_host_is_not_fetched() -> None:
    with http_server() as site, http_server("127.0.0.2") as internal:
        internal.routes["/rss"] = Route(FEED)
        link = f'<link rel="alternate" type="application/rss+xml" href="{internal.url("/rss")}">'
        page = f"<html><head>{link}</head></html>"
        site.routes["/"] = Route(page.encode())
        with pytest.raises(ParseError, match="no feed found"):
            found(site, "/")
        assert internal.requests == []


def test_a_configured_page_says_where_its_feed_is() -> None:
    with pytest.raises(ParseError) as error:
        parse_feed(PAGE.encode(), "http://site.example/", "text/html")
    said = str(error.value)
    assert "not an RSS, Atom or JSON feed" in said
    assert "it advertises its feed at http://site.example/news/atom.xml" in said
    with pytest.raises(ParseError, match="advertising no feed; `monitor feeds add` looks"):
        parse_feed(b"<html><body>x</body></html>", "http://site.example/", "text/html")

"""Feeds as outlets really publish them, written for the tests: Cyrillic charsets declared
only in the HTTP header or nowhere, UTF-16, JSON Feed, live blogs, press releases that share
one link, opaque guids, updates, re-publications under tracking links, aggregator and
redirect links, Russian dates with a Moscow zone, and media titles.

``Outlets.second_edition()`` changes what some feeds say, as the next day's poll sees it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path

from tests.content import page
from tests.servers import HTTPServer, Route, http_server

XML = {"Content-Type": "application/rss+xml"}  # no charset: what many servers send
TROOPS_RU = "Войска переброшены к границе"
TROOPS_RU_TEXT = "Минобороны сообщило о переброске войск и 40 единиц техники к границе."
KOI8_TITLE = "Колонна войск замечена у Мозыря"
UK_TITLE = "Війська перекинуто до кордону з Білоруссю"
UPDATED = "UPDATE: Russia redeploys brigades to the border"


def item(
    title: str,
    link: str | None = None,
    guid: str | None = None,
    text: str = "",
    date: str | None = "Sat, 22 Jun 2024 10:00:00 GMT",
    extra: str = "",
) -> str:
    parts = [f"<title>{escape(title)}</title>" if title else ""]
    parts.append(f"<link>{escape(link)}</link>" if link else "")
    parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>' if guid else "")
    parts.append(f"<description>{escape(text)}</description>" if text else "")
    parts.append(f"<pubDate>{date}</pubDate>" if date else "")
    return f"<item>{''.join(parts)}{extra}</item>"


def channel(title: str, items: list[str], declaration: str = "", ns: str = "") -> str:
    return (
        f'{declaration}<rss version="2.0"{ns}><channel><title>{escape(title)}</title>'
        f"<link>http://outlet.example/</link>{''.join(items)}</channel></rss>"
    )


def google_link(publisher: str) -> str:
    raw = publisher.encode()
    article = base64.urlsafe_b64encode(b"\x08\x13\x22" + bytes([len(raw)]) + raw + b"\xd2\x01")
    return f"https://news.google.com/rss/articles/{article.decode().rstrip('=')}?oc=5"


@dataclass
class Outlets:
    web: HTTPServer

    def feeds_yaml(self, path: Path) -> Path:
        lines = ["feeds:"]
        for name, route, full in FEEDS:
            lines.append(f"  - name: {name}\n    url: {self.web.url(route)}\n    interval: 1m")
            lines.append("    language: en")  # a wrong hint for most: the text decides
            if not full:
                lines.append("    full_text: false")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def first_edition(self) -> None:
        r, url = self.web.routes, self.web.url
        r["/a/ru-troops"] = Route(page(TROOPS_RU, [TROOPS_RU_TEXT, "Колонны прошли ночью."]))
        r["/a/brigades"] = Route(page("Brigades moved", [BRIGADES, "Convoys were seen."]))
        r["/a/final"] = Route(page("Troops reach the border", [REDIRECTED]))
        r["/r/1"] = Route(status=302, headers={"Location": url("/a/final")})
        moscow = "22 июня 2024 10:00 MSK"
        ru = item(TROOPS_RU, url("/a/ru-troops"), "ru-1", TROOPS_RU_TEXT, date=moscow)
        r["/cp1251.xml"] = Route(
            channel("Восток", [ru]).encode("cp1251"),
            headers={"Content-Type": "text/xml; charset=windows-1251"},
        )
        koi8 = item(KOI8_TITLE, None, "k-1", "Около 30 тысяч военных и колонна войск у Мозыря.")
        r["/koi8.xml"] = Route(channel("Север", [koi8]).encode("koi8-r"), headers=XML)
        uk = item(UK_TITLE, None, "u-1", "До навчань залучено близько 9 тисяч військовослужбовців.")
        utf16 = channel("Захід", [uk], '<?xml version="1.0" encoding="utf-16"?>')
        r["/utf16.xml"] = Route(utf16.encode("utf-16"), headers=XML)
        r["/feed.json"] = Route(
            json.dumps(JSON_FEED, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/feed+json"},
        )
        r["/live.xml"] = feed("Live", self._live(3))
        r["/press.xml"] = feed("Press", [
            item(f"Press release {n}: brigade {n} rotated", url("/press"), f"pr-{n}",
                 f"The ministry says brigade {n} rotated troops.")
            for n in (1, 2)
        ])  # fmt: skip
        for outlet in ("a", "b"):
            r[f"/opaque-{outlet}.xml"] = feed(outlet, [
                item(f"Outlet {outlet.upper()} bulletin {n}: troops deployed", None, str(n),
                     f"Bulletin {n} of outlet {outlet}.")
                for n in (1, 2)
            ])  # fmt: skip
        trucks = item("Russia moves trucks near Kursk", url("/a/kursk"), "up-1", "Trucks.")
        r["/updates.xml"] = feed("Updates", [trucks])
        daily = item("Brigades moved", url("/a/brigades?utm_source=rss"), "d-1", "Brigades.")
        r["/daily.xml"] = feed("Daily", [daily])
        opaque = "https://news.google.com/rss/articles/CBMiAU_yqLOpaqueKey?oc=5"
        r["/aggregator.xml"] = feed("Aggregator", [
            item("Brigades moved - Updates", google_link(url("/a/brigades")), "gn-1", "x"),
            item("Troops at the border - Somewhere", opaque, "gn-2",
                 "Troops were deployed to the border, officials said."),
            item("Troops reach the border", url("/r/1"), "rd-1", "Short."),
        ])  # fmt: skip
        media = "<media:title>Drone footage of the column</media:title>"
        r["/media.xml"] = feed("Media", [
            item("", url("/v/1"), "v-1", "Footage of troops deployed near the border.",
                 extra=media),
            item("Broken port", "http://outlet.example:99999/x", "bad-1", "x"),
        ], ns=' xmlns:media="http://search.yahoo.com/mrss/"')  # fmt: skip

    def second_edition(self) -> None:
        """The next poll: an update that now matches, an unchanged re-publication under a
        tracking link and a new guid, and the live blog's new post."""
        r, url = self.web.routes, self.web.url
        r["/updates.xml"] = feed("Updates", [
            item(UPDATED, url("/a/kursk"), "up-1", "Brigades redeployed."),
            item("Russia moves trucks near Kursk", url("/a/kursk?utm_source=rss"), "up-1b",
                 "Trucks."),
        ])  # fmt: skip
        r["/live.xml"] = feed("Live", self._live(4))

    def _live(self, posts: int) -> list[str]:
        return [
            item(f"Live: update {n}", self.web.url(f"/live#post-{n}"), None,
                 f"Post {n}: troops seen crossing bridge {n}.")
            for n in range(1, posts + 1)
        ]  # fmt: skip


def feed(title: str, items: list[str], ns: str = "") -> Route:
    return Route(channel(title, items, ns=ns).encode(), headers=XML)


BRIGADES = "Two brigades were redeployed to the border overnight, the ministry said."
REDIRECTED = "Troops were deployed to the border after the redirect, officials said."
JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Json outlet",
    "items": [
        {
            "id": "j-1",
            "url": "/j/1",
            "title": "Battalion deployed to Brest",
            "content_text": "A battalion was deployed to Brest, troops said.",
            "date_published": "2024-06-22T10:00:00+03:00",
        },
        {"id": 2, "title": "Weather", "content_html": "<p>Sunny.</p>"},
    ],
}
# (name, route, full text)
FEEDS = [
    ("Cp1251", "/cp1251.xml", True),
    ("Koi8", "/koi8.xml", True),
    ("Utf16", "/utf16.xml", True),
    ("Json", "/feed.json", False),
    ("Live", "/live.xml", True),
    ("Press", "/press.xml", False),
    ("Opaque A", "/opaque-a.xml", True),
    ("Opaque B", "/opaque-b.xml", True),
    ("Updates", "/updates.xml", False),
    ("Daily", "/daily.xml", True),
    ("Aggregator", "/aggregator.xml", True),
    ("Media", "/media.xml", False),
]


@contextmanager
def outlets() -> Iterator[Outlets]:
    with http_server() as web:
        site = Outlets(web)
        site.first_edition()
        yield site

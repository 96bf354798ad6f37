"""A small news site on loopback: good feeds, a broken one, and one with hostile links."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.content import QUIET_TEXT, TROOPS_TEXT, Item, atom, page, rss
from tests.servers import HTTPServer, Route, http_server

UKRAINIAN = [
    "Росія перекидає війська до кордону з Білоруссю, повідомили у Державній "
    "прикордонній службі України.",
    "Колони техніки помітили біля Мозиря.",
]


@dataclass
class Site:
    news: HTTPServer
    internal: HTTPServer  # 127.0.0.2, standing in for a host inside our network

    def feeds_yaml(self, path: Path, *, broken: bool = True) -> Path:
        lines = ["feeds:"]
        for name, route in [
            ("Daily Test", "/rss.xml"),
            ("Kyiv Test", "/atom.xml"),
            ("Hostile Test", "/hostile.xml"),
        ] + ([("Broken Test", "/broken.xml")] if broken else []):
            lines.append(f"  - name: {name}\n    url: {self.news.url(route)}\n    interval: 1m")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


@contextmanager
def news_site() -> Iterator[Site]:
    with http_server() as news, http_server("127.0.0.2") as internal:
        internal.routes["/secret"] = Route(page("Secret", ["Troops of admins deployed."]))
        n = news.url
        news.routes["/rss.xml"] = Route(
            rss(
                "Daily Test",
                [
                    Item(
                        "Belarus moves brigades to Ukrainian border",
                        n("/a/troops?utm_source=rss"),
                        "Short summary.",
                    ),
                    Item("Library budget approved", n("/a/library"), "Libraries get money."),
                    Item(
                        "Soldiers redeployed near Brest",
                        n("/a/gone"),
                        "Belarusian soldiers were redeployed near Brest, officials said.",
                    ),
                ],
            ),
            etag='"rss-1"',
        )
        news.routes["/atom.xml"] = Route(
            atom(
                "Kyiv Test",
                [
                    Item(
                        "Росія перекидає війська до Білорусі",
                        n("/a/uk"),
                        "Коротко.",
                        guid="urn:uk:1",
                    ),
                ],
            ),
            etag='"atom-1"',
        )
        news.routes["/hostile.xml"] = Route(
            rss(
                "Hostile Test",
                [
                    Item(
                        "Troops deployed to Belarus (direct)",
                        internal.url("/secret"),
                        "Russian troops deployed to Belarus, the feed says.",
                    ),
                    Item(
                        "Troops deployed to Belarus (redirect)",
                        n("/go"),
                        "Russian troops deployed to Belarus again.",
                    ),
                ],
            )
        )
        news.routes["/go"] = Route(status=302, headers={"Location": internal.url("/secret")})
        news.routes["/broken.xml"] = Route(b"oops", status=500)
        news.routes["/a/troops"] = Route(page("Belarus moves brigades", TROOPS_TEXT))
        news.routes["/a/library"] = Route(page("Library budget approved", QUIET_TEXT))
        news.routes["/a/uk"] = Route(page("Росія перекидає війська", UKRAINIAN))
        yield Site(news, internal)

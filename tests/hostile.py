"""A hostile web on loopback: every way a feed server can misbehave, plus good feeds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.content import TROOPS_TEXT, Item, atom, page, rss
from tests.servers import HTTPServer, Route, http_server

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>http://example.org/laughs</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title>
<item><title>Leak &xxe;</title><link>LINK</link><description>&xxe;</description></item>
</channel></rss>"""

STORIES = [
    TROOPS_TEXT,
    [
        "A second brigade was moved north of Minsk overnight, the Belarusian defence ministry "
        "said, in what it called a planned rotation of units near the Lithuanian frontier.",
        "Residents of Maladzyechna reported long columns of trucks on the M6 motorway.",
    ],
    [
        "Russian forces are being transferred to Belarus for joint exercises, Ukrainian "
        "military intelligence said on Friday, citing rail traffic through Orsha.",
        "Analysts in Kyiv said the numbers were small so far but growing each week.",
    ],
    [
        "Troops redeployed to Belarus from the Kursk region are settling into camps near "
        "Baranavichy, satellite pictures published by a Lithuanian think tank suggest.",
        "The think tank counted about forty new tents since the start of the month.",
    ],
]

HOSTILE = {  # feed name -> path; each must end with a clear recorded error or no harm done
    "Malformed XML": "/malformed.xml",
    "HTML instead of feed": "/html.xml",
    "Empty body": "/empty.xml",
    "Not found": "/missing.xml",
    "Gone": "/gone.xml",
    "Server error": "/error.xml",
    "Rate limited": "/limited.xml",
    "Unavailable": "/unavailable.xml",
    "Redirect loop": "/loop1.xml",
    "Billion laughs": "/laughs.xml",
    "External entity": "/xxe.xml",
    "Huge body": "/huge.xml",
    "Gzip bomb": "/bomb.xml",
    "Trickle": "/trickle.xml",
    "Internal links": "/internal.xml",
    "Redirected links": "/sneaky.xml",
}
GOOD = {"Good RSS": "/good.xml", "Good Atom": "/good-atom.xml", "Moved": "/old-home.xml"}


@dataclass
class HostileWeb:
    web: HTTPServer
    internal: HTTPServer

    def feeds_yaml(self, path: Path) -> Path:
        lines = ["feeds:"]
        for name, route in {**GOOD, **HOSTILE}.items():
            lines.append(f"  - {{name: {name}, url: '{self.web.url(route)}'}}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


@contextmanager
def hostile_web() -> Iterator[HostileWeb]:
    with http_server() as web, http_server("127.0.0.2") as internal:
        internal.routes["/secret"] = Route(page("Admin", ["Troops deployed to Belarus."]))
        n = web.url
        r = web.routes
        r["/good.xml"] = Route(
            rss(
                "Good",
                [
                    Item("Belarus moves brigades to the border", n("/a/1"), "Troops deployed."),
                    Item("Second good story", n("/a/2"), "Brigades moved north, Belarus says."),
                ],
            ),
            etag='"good-1"',
        )
        r["/good-atom.xml"] = Route(
            atom(
                "Good Atom",
                [
                    Item(
                        "Росія перекидає війська до Білорусі", n("/a/3"), "Коротко.", guid="urn:a:3"
                    ),
                ],
            ),
            etag='"atom-1"',
        )
        r["/old-home.xml"] = Route(status=301, headers={"Location": "/new-home.xml"})
        r["/new-home.xml"] = Route(
            rss(
                "Moved",
                [Item("Troops redeployed to Belarus", n("/a/4"), "Troops redeployed to Belarus.")],
            )
        )
        for i, text in enumerate(STORIES, start=1):  # four different stories
            r[f"/a/{i}"] = Route(page(f"Story {i}", text))
        r["/malformed.xml"] = Route(b"<rss><channel><item><title>broken</title><link>")
        r["/html.xml"] = Route(page("Home", ["Welcome to our site."]))
        r["/empty.xml"] = Route(b"")
        r["/gone.xml"] = Route(b"gone", status=410)
        r["/error.xml"] = Route(b"oops", status=500)
        r["/limited.xml"] = Route(b"slow down", status=429, headers={"Retry-After": "3600"})
        r["/unavailable.xml"] = Route(
            b"later", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
        )
        r["/loop1.xml"] = Route(status=302, headers={"Location": "/loop2.xml"})
        r["/loop2.xml"] = Route(status=302, headers={"Location": "/loop1.xml"})
        r["/laughs.xml"] = Route(BILLION_LAUGHS)
        r["/xxe.xml"] = Route(XXE.replace(b"LINK", n("/a/5").encode()))
        r["/a/5"] = Route(page("Story 5", ["Nothing to see here."]))
        r["/huge.xml"] = Route(b"<rss>" + b"x" * (64 * 1024 * 1024))
        r["/bomb.xml"] = Route(b"\0" * (60 * 1024 * 1024), gzip=True)
        r["/trickle.xml"] = Route(rss("Slow", [Item("t", n("/a/1"), "s")]), trickle=1.0)
        r["/internal.xml"] = Route(
            rss(
                "Internal",
                [
                    Item(
                        "Troops deployed to Belarus (direct)",
                        internal.url("/secret"),
                        "Russian troops deployed to Belarus.",
                    )
                ],
            )
        )
        r["/sneaky.xml"] = Route(
            rss(
                "Sneaky",
                [
                    Item(
                        "Troops deployed to Belarus (redirect)",
                        n("/go"),
                        "Russian troops deployed to Belarus again.",
                    )
                ],
            )
        )
        r["/go"] = Route(status=302, headers={"Location": internal.url("/secret")})
        yield HostileWeb(web, internal)

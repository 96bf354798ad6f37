"""A feed farm and a webhook sink on 127.0.0.1 for the benchmarks.

The farm serves N RSS feeds of M items each and every item's article page: news text made
from the corpus, wrapped in the navigation, related links, comments and footer of a news
site (about 60 KB of HTML, see ``_page``), with a configurable server latency.

The corpus holds 50 paragraphs. Articles drawn from them as they are ("shared" text) all
share most of their word shingles, so every article of a cycle shares story keys with
hundreds of others: the worst case for story grouping, not a news stream. By default
("distinct" text) half the words of each drawn paragraph are replaced by corpus words at
random, so articles are as distinct as a stream's different stories, and every
``WIRE_EVERY``-th item is another feed's item again under its own headline, as outlets
carry the same wire story. Feeds answer
conditional requests with 304, except every ``ignore_every``-th feed, which always answers 200 with
the same body (servers like that exist; the service must not parse them again).

Written on raw asyncio streams with keep-alive, so the farm is not what is measured.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = [HERE.parent / "tests" / "corpus", HERE.parent.parent / "shared" / "corpus"]
WORDS = [
    "market",
    "weather",
    "football",
    "council",
    "budget",
    "school",
    "museum",
    "festival",
    "river",
    "harbour",
]
REWORD = 0.5  # share of a drawn paragraph's words replaced, in "distinct" text
WIRE_EVERY = 20  # every 20th item of "distinct" text is the previous feed's same item


def corpus_paragraphs() -> list[str]:
    folder = next(p for p in CORPUS if p.is_dir())
    paras: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        paras += [p.strip() for p in path.read_text("utf-8").split("\n") if len(p.strip()) > 80]
    return paras


@dataclass
class Item:
    title: str
    paragraphs: list[str]
    published: datetime


@dataclass
class Farm:
    feeds: int
    items: int
    feed_latency: float = 0.1
    page_latency: float = 0.2
    ignore_every: int = 0
    seed: int = 1
    text: str = "distinct"  # or "shared": see the module's docstring
    stats: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.text not in ("distinct", "shared"):
            raise ValueError(f"text is 'distinct' or 'shared', not {self.text!r}")
        self._paras = corpus_paragraphs()
        self._vocabulary = [w for p in self._paras for w in p.split()]
        self.port = 0
        self.reset()

    def reset(self) -> None:
        """Back to the initial items: each benchmark run starts from the same farm."""
        rng = random.Random(self.seed)
        start = datetime(2026, 11, 20, 12, tzinfo=UTC)
        self._items: dict[int, list[Item]] = {}
        for f in range(self.feeds):  # in order: a wire copy repeats the previous feed's item
            self._items[f] = [
                self._item(rng, f, j, start - timedelta(minutes=j)) for j in range(self.items)
            ]
        self._version = dict.fromkeys(range(self.feeds), 0)
        self.published: dict[str, float] = {}  # title -> time.time() it appeared
        self._pages: dict[tuple[int, int], bytes] = {}
        self._feeds: dict[tuple[int, int], bytes] = {}

    def sample(self, count: int) -> list[Item]:
        """The first ``count`` items of the farm (for measuring per-article work)."""
        return [item for f in range(self.feeds) for item in self._items[f]][:count]

    def render(self) -> None:
        """Render every page and feed now: the farm stands in for servers on other machines,
        so while a benchmark runs it should only send bytes, not build pages on the cores
        being measured."""
        for f in range(self.feeds):
            self.feed_xml(f)
            for j in range(len(self._items[f])):
                self.page_html(f, j)

    def _item(self, rng: random.Random, f: int, j: int, when: datetime) -> Item:
        paras = rng.sample(self._paras, rng.randint(6, 12))
        if self.text == "distinct":
            paras = [self._reworded(rng, p) for p in paras]
            if f and (f * self.items + j) % WIRE_EVERY == 0:
                paras = self._items[f - 1][j].paragraphs
        title = f"{paras[0][:70].rsplit(' ', 1)[0]} (feed {f}, item {j})"
        return Item(title, paras, when)

    def _reworded(self, rng: random.Random, paragraph: str) -> str:
        vocabulary, chance = self._vocabulary, rng.random
        return " ".join(
            rng.choice(vocabulary) if chance() < REWORD else w for w in paragraph.split()
        )

    def publish(self, f: int, title: str, paragraphs: list[str]) -> None:
        """A new item on top of feed f, from now on."""
        self._items[f].insert(0, Item(title, paragraphs, datetime.now(UTC)))
        self._version[f] += 1
        self.published[title] = time.time()

    def url(self, f: int) -> str:
        return f"http://127.0.0.1:{self.port}/f/{f}.xml"

    def page_html(self, f: int, j: int) -> bytes:
        if (f, j) not in self._pages:
            item = self._items[f][len(self._items[f]) - 1 - j]
            self._pages[f, j] = _page(item, f, j, self._paras)
        return self._pages[f, j]

    def feed_xml(self, f: int) -> bytes:
        if (f, self._version[f]) not in self._feeds:
            self._feeds[f, self._version[f]] = self._feed_xml(f)
        return self._feeds[f, self._version[f]]

    def _feed_xml(self, f: int) -> bytes:
        entries = []
        items = self._items[f]
        for k, item in enumerate(items):
            j = len(items) - 1 - k  # stable ids: page j keeps its URL as items are added
            link = f"http://127.0.0.1:{self.port}/a/{f}/{j}.html"
            entries.append(
                f"<item><title>{escape(item.title)}</title><link>{link}</link>"
                f"<guid>{link}</guid><pubDate>{format_datetime(item.published)}</pubDate>"
                f"<description>{escape(item.paragraphs[0][:300])}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Farm feed {f}</title><link>http://127.0.0.1/</link>"
            f"<description>bench</description>{''.join(entries)}</channel></rss>"
        ).encode()

    async def _respond(self, path: str, headers: dict[str, str]) -> tuple[str, bytes, str]:
        parts = path.strip("/").split("/")
        if parts[0] == "f":
            f = int(parts[1].removesuffix(".xml"))
            await asyncio.sleep(self.feed_latency)
            etag = f'"v{self._version[f]}"'
            ignores = self.ignore_every and f % self.ignore_every == 0
            if headers.get("if-none-match") == etag and not ignores:
                self.stats["feed 304"] += 1
                return "304 Not Modified", b"", f"ETag: {etag}\r\n"
            self.stats["feed 200"] += 1
            return (
                "200 OK",
                self.feed_xml(f),
                f"ETag: {etag}\r\nContent-Type: application/rss+xml\r\n",
            )
        if parts[0] == "a":
            await asyncio.sleep(self.page_latency)
            self.stats["page"] += 1
            body = self.page_html(int(parts[1]), int(parts[2].removesuffix(".html")))
            return "200 OK", body, "Content-Type: text/html; charset=utf-8\r\n"
        return "404 Not Found", b"", ""


def _page(item: Item, f: int, j: int, teasers: list[str]) -> bytes:
    """An article page as news sites serve them: a head full of meta tags, preloads,
    tracking scripts and the article again as JSON (JSON-LD and a hydration blob), a mega
    menu, the article with a figure, ad slots and "read also" boxes between paragraphs,
    sidebars of teasers, comments, a newsletter form and a footer of link columns."""
    rng = random.Random(f * 1000 + j)
    picks = [teasers[rng.randrange(len(teasers))] for _ in range(60)]
    title = escape(item.title)
    head = "".join(
        f'<meta property="og:x{k}" content="{escape(picks[k % 60][:60])}">'
        f'<link rel="preload" href="/static/chunk-{k}.js" as="script">'
        for k in range(25)
    )
    scripts = "".join(  # scripts, styles and tracking markup that real pages carry
        f'<script>window.dataLayer.push({{"slot": {k}, "feed": {f}}});</script>'
        f"<style>.teaser-{k} {{ margin: {k}px; padding: 4px; }}</style>"
        for k in range(60)
    )
    blob = json.dumps(
        {
            "props": {
                "article": {"title": item.title, "body": item.paragraphs},
                "related": [
                    {"id": k, "teaser": t, "url": f"/a/{f}/{k}.html"} for k, t in enumerate(picks)
                ],
            }
        }
    )
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": item.title,
            "datePublished": item.published.isoformat(),
            "articleBody": " ".join(item.paragraphs),
        }
    )
    menu = "".join(
        f'<li class="menu"><a href="/{w}">{w.title()}</a><ul>'
        + "".join(f'<li><a href="/{w}/{k}">{w.title()} {k}</a></li>' for k in range(20))
        + "</ul></li>"
        for w in WORDS
    )
    body = []
    for k, paragraph in enumerate(item.paragraphs):
        body.append(f"<p>{escape(paragraph)}</p>")
        if k % 3 == 2:
            body.append(
                f'<div class="ad-slot" id="ad-{k}"><script>loadAd({k})</script></div>'
                f'<aside class="read-also"><a href="/a/{f}/{k}.html">'
                f"{escape(picks[k][:90])}</a></aside>"
            )
    cards = "".join(
        f'<div class="card teaser-{k}"><a href="/a/{f}/{k}.html"><img src="/img/{k}.jpg" '
        f'alt=""><h3>{escape(t[:80])}</h3></a><p>{escape(t[:160])}</p></div>'
        for k, t in enumerate(picks[:40])
    )
    most_read = "".join(
        f'<li><a href="/a/{f}/{k}.html">{escape(t[:70])}</a></li>'
        for k, t in enumerate(picks[40:50])
    )
    comments = "".join(
        f'<div class="comment"><b>reader{k}</b><p>Great article, thanks for covering {w}!</p>'
        f'<a href="#reply-{k}">Reply</a></div>'
        for k, w in enumerate(WORDS * 3)
    )
    footer = "".join(
        f'<div class="col"><h4>{w.title()}</h4><ul>'
        + "".join(f'<li><a href="/{w}/more/{k}">{w} {k}</a></li>' for k in range(10))
        + "</ul></div>"
        for w in WORDS[:6]
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Farm News</title>{head}{scripts}
<script type="application/ld+json">{ld}</script>
<script id="__NEXT_DATA__" type="application/json">{escape(blob, quote=False)}</script></head>
<body><div class="cookie-banner">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header><nav class="mega"><ul>{menu}</ul></nav><form class="search"><input name="q"></form>
</header><div class="breadcrumb"><a href="/">Home</a> / <a href="/world">World</a></div>
<main><article><h1>{title}</h1><div class="byline">By Farm News staff</div>
<time datetime="{item.published.isoformat()}">{item.published:%d %B %Y}</time>
<figure><img src="/img/lead-{f}-{j}.jpg" alt="{title}"><figcaption>Photo: Farm News
</figcaption></figure><div class="share"><a href="/share/x">Share</a>
<a href="/share/mail">Email</a></div><div class="article-body">{"".join(body)}</div></article>
<aside class="latest"><h2>Latest</h2>{cards}</aside>
<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>
<section class="comments"><h2>Comments</h2>{comments}</section>
<form class="newsletter"><h2>Get the morning briefing</h2><input name="email">
<button>Sign up</button></form></main>
<footer>{footer}<p>© Farm News {j}. All rights reserved.</p></footer></body></html>""".encode()


class Sink:
    """A webhook receiver: records (arrival time, body) of every POST."""

    def __init__(self) -> None:
        self.received: list[tuple[float, bytes]] = []
        self.port = 0

    async def _respond(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.received.append((time.time(), body))


class Servers:
    """The farm and the sink, served from one background thread with its own event loop."""

    def __init__(self, farm: Farm, sink: Sink) -> None:
        self.farm, self.sink = farm, sink
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        farm = self.loop.run_until_complete(
            asyncio.start_server(self._farm_conn, "127.0.0.1", 0, backlog=1024)
        )
        sink = self.loop.run_until_complete(
            asyncio.start_server(self._sink_conn, "127.0.0.1", 0, backlog=1024)
        )
        self.farm.port = farm.sockets[0].getsockname()[1]
        self.sink.port = sink.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def call(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        self.loop.call_soon_threadsafe(fn, *args)

    def run(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        """``fn(*args)`` on the servers' loop, waiting until it is done."""

        async def call() -> None:
            fn(*args)

        asyncio.run_coroutine_threadsafe(call(), self.loop).result()

    async def _farm_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def answer(path: str, headers: dict[str, str], body: bytes) -> bytes:
            status, payload, extra = await self.farm._respond(path, headers)
            return _http(status, payload, extra)

        await _serve(reader, writer, answer)

    async def _sink_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def answer(path: str, headers: dict[str, str], body: bytes) -> bytes:
            await self.sink._respond(path, headers, body)
            return _http("200 OK", b"{}", "Content-Type: application/json\r\n")

        await _serve(reader, writer, answer)


def _http(status: str, body: bytes, extra: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def _serve(reader, writer, answer) -> None:  # type: ignore[no-untyped-def]
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            lines = request.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            writer.write(await answer(path, headers, body))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

"""Feeds and article pages with real-world boilerplate, built for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    summary: str
    guid: str | None = None


def today() -> datetime:
    """Midnight UTC today: items are recent (not catch-up) and the same all day, so a feed
    served twice in a test is byte for byte the same."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rss(title: str, items: list[Item]) -> bytes:
    now = today()
    entries = []
    for i, item in enumerate(items):
        guid = item.guid or item.link
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
            f"<guid>{escape(guid)}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate>"
            f"<description>{escape(item.summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
        f"<description>test feed</description>{''.join(entries)}</channel></rss>"
    ).encode()


def atom(title: str, items: list[Item], hub: str | None = None, self_url: str = "") -> bytes:
    """An Atom feed; with ``hub``, one advertising that WebSub hub and ``self_url``."""
    updated = today().strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = "".join(
        f'<entry><title>{escape(i.title)}</title><link href="{escape(i.link)}"/>'
        f"<id>{escape(i.guid or i.link)}</id><updated>{updated}</updated>"
        f"<summary>{escape(i.summary)}</summary></entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>{updated}</updated>"
        f"{_hub_links(hub, self_url)}{entries}</feed>"
    ).encode()


def _hub_links(hub: str | None, self_url: str) -> str:
    if hub is None:
        return ""
    return f'<link rel="hub" href="{escape(hub)}"/><link rel="self" href="{escape(self_url)}"/>'


def page(title: str, paragraphs: list[str]) -> bytes:
    """An article page wrapped in navigation, a sidebar, a newsletter box and a footer."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | The Daily Test</title>
<script>window.dataLayer = [{{"event": "pageview"}}];</script></head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a>
<a href="/opinion">Opinion</a> <a href="/subscribe">Subscribe</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>{escape(title)}</h1><div class="byline">By Staff Reporter</div>
<div class="article-body">{body}</div></article></main>
<aside class="newsletter"><h3>Sign up for our newsletter</h3><p>Get the headlines every
morning in your inbox. Enter your email address.</p></aside>
<footer><p>Copyright 2026 The Daily Test. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
</body></html>""".encode()


TROOPS_TEXT = [
    "Belarus moved two mechanised brigades toward its southern border with Ukraine on "
    "Thursday, the defence ministry in Minsk said, describing the deployment as a snap "
    "readiness check.",
    "Satellite images showed columns of armoured vehicles near Mazyr, and Ukrainian border "
    "guards reported increased activity along the frontier.",
    "Officials in Kyiv said they were watching the troop movements closely and had "
    "reinforced positions in the Zhytomyr region.",
]
QUIET_TEXT = [
    "The city council approved a new budget for public libraries on Tuesday, adding "
    "funds for longer opening hours and a children's reading programme.",
    "Librarians welcomed the decision and said visitor numbers had grown every year.",
]


def page_with_extras(title: str, text: str, sidebar: list[str], comments: list[str]) -> bytes:
    """An article page whose sidebar and comment section carry other headlines."""
    aside = "".join(f'<li><a href="/n/{i}">{escape(h)}</a></li>' for i, h in enumerate(sidebar))
    talk = "".join(
        f'<div class="comment"><span class="author">reader{i}</span><p>{escape(c)}</p></div>'
        for i, c in enumerate(comments)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>
</head><body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>{escape(title)}</h1><p>{escape(text)}</p>
<p>{escape(text)}</p></article></main>
<aside class="sidebar"><h3>Most read</h3><ul>{aside}</ul></aside>
<section id="comments" class="comments"><h3>Comments</h3>{talk}</section>
<footer>Copyright 2026</footer></body></html>""".encode()

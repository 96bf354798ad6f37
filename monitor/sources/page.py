"""Pages without feeds (a ministry's or a border service's news page): the page's article
links are its items, like FreshRSS's XPath feeds.

``options.links`` is a CSS selector for the links to follow (``"ul.news a"``; an element
that is no link stands for the first link inside it); without one, a heuristic takes the
links that look like articles: on the page's own site, below its path or deeper than one
segment, with a headline's worth of text, outside the page's header, navigation and
footer. Each new link becomes an item whose title is the link's text; its page is fetched
and extracted as any article's. The links seen are kept on the feed row (``state``), so a
link is an item once; the first poll takes ``options.backfill`` links (default 10) and
records the rest as seen, so adding a page does not alert its whole archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from monitor.entities import FeedEntry, FeedRef
from monitor.errors import ParseError
from monitor.feeds.charset import decode
from monitor.sources.base import Net, SourcePoll, fetch_source

BACKFILL = 10  # links taken on a page's first poll; the rest are recorded as seen
MAX_LINKS = 200  # links one poll looks at
REMEMBERED = 2000  # links kept as seen (a page's archive turns over slower than this)
MIN_TITLE = 15  # characters of link text that make a headline, for the heuristic


def links(html: str, base: str, css: str | None) -> list[tuple[str, str]]:
    """(url, title) of the page's article links, in the page's order, each once."""
    tree = lxml.html.fromstring(html)
    try:
        anchors = list(_chosen(tree, CSSSelector(css)) if css else _heuristic(tree, base))
    except SelectorError as exc:
        raise ParseError(base, f"options.links {css!r} is not a CSS selector: {exc}") from None
    found: dict[str, str] = {}
    for anchor in anchors:
        href = anchor.get("href") or ""
        url = urldefrag(urljoin(base, href.strip())).url
        title = " ".join(anchor.text_content().split())
        if url.startswith(("http://", "https://")) and url != base and url not in found:
            found[url] = title
        if len(found) >= MAX_LINKS:
            break
    return list(found.items())


def _chosen(tree: lxml.html.HtmlElement, chosen: CSSSelector) -> Iterator[lxml.html.HtmlElement]:
    for element in chosen(tree):
        if element.tag == "a" and element.get("href"):
            yield element
            continue
        inner = element.xpath(".//a[@href]")
        if inner:
            yield inner[0]


def _heuristic(tree: lxml.html.HtmlElement, base: str) -> Iterable[lxml.html.HtmlElement]:
    page = urlsplit(base)
    for anchor in tree.xpath("//a[@href]"):
        if anchor.xpath("ancestor::*[self::header or self::nav or self::footer or self::aside]"):
            continue
        target = urlsplit(urljoin(base, anchor.get("href", "")))
        if target.hostname != page.hostname:
            continue
        path = target.path.rstrip("/")
        below = path.startswith(page.path.rstrip("/") + "/")
        deep = path.count("/") >= 2
        text = " ".join(anchor.text_content().split())
        if (below or deep) and len(text) >= MIN_TITLE:
            yield anchor


def key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


class PageSource:
    kind = "page"

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        result = await fetch_source(net, feed)
        kept = SourcePoll(result.status, etag=result.etag, last_modified=result.last_modified)
        if result.not_modified:
            return SourcePoll(result.status, changed=False, note="not modified")
        digest = hashlib.sha256(result.content).hexdigest()
        if digest == feed.content_hash:
            return SourcePoll(result.status, changed=False, note="unchanged")
        css = feed.options.get("links")
        found = links(decode(result.content, result.content_type).text, result.url, css)
        if not found:
            what = f"nothing matches {css!r}" if css else "no article links found"
            raise ParseError(result.url, f"{what} on the page")
        seen: list[str] = list(feed.state.get("seen", []))
        first = not seen and not feed.state
        fresh = [(url, title) for url, title in found if key(url) not in set(seen)]
        taken = fresh[: int(feed.options.get("backfill", BACKFILL))] if first else fresh
        remembered = (seen + [key(url) for url, _ in fresh])[-REMEMBERED:]
        entries = tuple(
            FeedEntry(guid=url, link=url, title=title, summary="", published=None)
            for url, title in taken
        )
        return SourcePoll(
            kept.status,
            entries=entries,
            etag=kept.etag,
            last_modified=kept.last_modified,
            content_hash=digest,
            note=f"first poll: {len(fresh) - len(taken)} older links recorded" if first else None,
            state={"seen": remembered},
        )

"""Finding a site's feed from its address: the feeds an HTML page advertises (``<link
rel="alternate">`` of an RSS, Atom or JSON Feed type), then the paths sites commonly use.
``monitor feeds add`` uses it, and a configured URL that turns out to be a page says where
its feed is. Advertised links come from the page, so they are fetched through the same
guarded client as everything else a feed names.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from monitor.config import FetchSettings
from monitor.errors import FetchError, ParseError
from monitor.feeds.alternates import advertised
from monitor.feeds.fetch import fetch
from monitor.feeds.parse import parse_feed

COMMON_PATHS = ("/feed", "/rss.xml", "/atom.xml", "/feed.json", "/rss", "/index.xml")
MAX_TRIES = 8  # candidate addresses fetched at the most


@dataclass(frozen=True)
class Found:
    url: str  # the feed's address
    items: int  # entries it has now
    tried: tuple[str, ...]  # the addresses tried, in order


async def discover(client: httpx.AsyncClient, url: str, settings: FetchSettings) -> Found:
    """The feed at ``url``, or the one the page there advertises, or one at a common path;
    raises ParseError naming what was tried."""
    tried: list[str] = []
    candidates = [url]
    while candidates and len(tried) < MAX_TRIES:
        candidate = candidates.pop(0)
        if candidate in tried:
            continue
        tried.append(candidate)
        try:
            result = await fetch(
                client, candidate, max_bytes=settings.max_feed_bytes, deadline=settings.timeout
            )
        except FetchError:
            continue
        if result.status >= 400:
            continue
        try:
            parsed = parse_feed(result.content, result.url, result.content_type)
        except ParseError:
            if candidate == url:  # the address given is a page: its links, then common paths
                page = result.content.decode("utf-8", "replace")
                candidates += advertised(page, result.url) + [
                    urljoin(result.url, path) for path in COMMON_PATHS
                ]
            continue
        return Found(result.url, len(parsed.entries), tuple(tried))
    raise ParseError(f"{url}: no feed found (tried {', '.join(tried)})")

"""The feeds an HTML page advertises (``<link rel="alternate">`` of an RSS, Atom or JSON
Feed type): for finding a site's feed, and for telling an operator whose configured address
is a page where its feed is. Read with bounded regular expressions over the page's head."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin

FEED_TYPES = {
    "application/rss+xml", "application/atom+xml", "application/feed+json",
    "application/json", "application/rdf+xml", "application/xml", "text/xml",
}  # fmt: skip
URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"  # everything else (<, >, quotes, spaces) percent-quoted
HEAD_BYTES = 262_144  # of a page read for its links: they are in its head
_LINK = re.compile(r"<link\b[^>]{0,2000}>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")


def advertised(page: str, base_url: str) -> list[str]:
    """The feeds ``page`` advertises, absolute, in its order."""
    found = []
    for tag in _LINK.findall(page[:HEAD_BYTES]):
        attrs = {k.lower(): v.strip("\"'") for k, v in _ATTR.findall(tag)}
        rels = attrs.get("rel", "").lower().split()
        kind = attrs.get("type", "").lower().split(";")[0].strip()
        href = html.unescape(attrs.get("href", "")).strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            # The page's words: a link quoted so that it can never be markup where it is shown.
            url = quote(urljoin(base_url, href), safe=URL_SAFE)
            if url.startswith(("http://", "https://")):
                found.append(url)
    return list(dict.fromkeys(found))


def looks_like_html(text: str) -> bool:
    start = text[:2048].lower()
    return "<html" in start or "<!doctype html" in start

"""OPML, the subscription lists other readers import and export: folders become tags on
the way in (nested ones each a tag), tags become an outline's categories on the way out.
listparser reads OPML, whatever its dialect."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import listparser

from monitor.config.feeds import FeedConfig
from monitor.errors import ConfigError


def read_opml(path: Path) -> list[dict[str, object]]:
    """feeds.yaml entries (name, url, tags) for every feed of the list, names made unique."""
    try:
        parsed = listparser.parse(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    if not parsed.feeds:
        why = f": {parsed.bozo_exception}" if parsed.bozo else ""
        raise ConfigError(f"{path}: no feeds in this OPML file{why}")
    entries: list[dict[str, object]] = []
    seen: set[str] = set()
    for feed in parsed.feeds:
        name = _unique((feed.title or feed.url).strip(), seen)
        tags = list(dict.fromkeys(t for folder in feed.categories for t in folder if t))
        entry: dict[str, object] = {"name": name, "url": feed.url}
        if tags:
            entry["tags"] = tags
        entries.append(entry)
    return entries


def _unique(name: str, seen: set[str]) -> str:
    found, n = name, 2
    while found in seen:
        found, n = f"{name} ({n})", n + 1
    seen.add(found)
    return found


def write_opml(feeds: Sequence[FeedConfig], title: str = "monitor feeds") -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        category = f" category={quoteattr(','.join(feed.tags))}" if feed.tags else ""
        lines.append(
            f'    <outline type="rss" text={quoteattr(feed.name)} title={quoteattr(feed.name)}'
            f" xmlUrl={quoteattr(feed.url)}{category}/>"
        )
    return "\n".join([*lines, "  </body>", "</opml>", ""])


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]

"""Kinds of source, by the ``kind`` of a feeds.yaml entry. A new kind is a module with a
class that has ``kind`` and ``poll`` (``monitor.sources.base.Source``) and a line here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from monitor.config import FeedConfig
from monitor.config import load_feeds as _load_feeds
from monitor.sources.base import Net, Source, SourcePoll
from monitor.sources.page import PageSource
from monitor.sources.rss import RssSource
from monitor.sources.telegram import TelegramSource

SOURCES: Mapping[str, Source] = {
    source.kind: source for source in (RssSource(), TelegramSource(), PageSource())
}


def load_feeds(path: Path) -> list[FeedConfig]:
    """feeds.yaml, with every entry's kind one of ours."""
    return _load_feeds(path, kinds=SOURCES)


__all__ = ["SOURCES", "Net", "Source", "SourcePoll", "load_feeds"]

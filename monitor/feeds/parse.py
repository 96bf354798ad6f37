"""Feed bytes -> entries. feedparser only ever gets bytes we fetched, never a URL."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.entities import FeedEntry
from monitor.errors import ParseError
from monitor.extract import fragment_text


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    skipped: int  # items with neither link nor guid
    problem: str | None  # feedparser's complaint about a feed it could still read


# feedparser's own HTML passes (sanitising, absolute URIs inside markup) are half its time,
# and their output is thrown away: titles and summaries become plain text (fragment_text,
# which drops scripts and styles itself). Entry links are made absolute either way.
_PARSE_OPTIONS: dict[str, Any] = {"sanitize_html": False, "resolve_relative_uris": False}


def parse_feed(content: bytes, base_url: str) -> ParsedFeed:
    try:
        parsed = feedparser.parse(
            content, response_headers={"content-location": base_url}, **_PARSE_OPTIONS
        )
    except Exception as exc:
        raise ParseError(f"{base_url}: feedparser failed: {type(exc).__name__}: {exc}") from exc
    problem = _problem(parsed)
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(f"{base_url}: not an RSS or Atom feed ({problem or 'no entries'})")
    entries, skipped = [], 0
    for raw in parsed.entries:
        entry = _entry(raw)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return ParsedFeed(tuple(entries), skipped, problem)


# Complaints about HTTP headers, not the feed: servers send the wrong Content-Type all the time.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _problem(parsed: Any) -> str | None:
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if error is None or isinstance(error, _BENIGN):
        return None
    return str(error) or type(error).__name__


def _entry(raw: Any) -> FeedEntry | None:
    link = (raw.get("link") or "").strip() or None
    guid = (raw.get("id") or "").strip() or link
    if not guid:
        return None
    content = raw.get("content") or []
    body = content[0].get("value", "") if content else raw.get("summary", "")
    return FeedEntry(
        guid=guid,
        link=link,
        title=fragment_text(raw.get("title", "")).strip(),
        summary=fragment_text(body),
        published=_when(raw.get("published_parsed") or raw.get("updated_parsed")),
    )


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None

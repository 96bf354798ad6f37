"""Feed bytes -> entries. feedparser only ever gets bytes we fetched, never a URL."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from monitor.entities import FeedEntry
from monitor.errors import ParseError
from monitor.extract import fragment_text

MAX_ITEMS = 1000  # entries read per poll; a feed offering more has the rest skipped, counted
MAX_TITLE = 1000  # characters of a title kept
MAX_TEXT = 200_000  # characters of a summary kept (an article page is capped by bytes)
MAX_LINK = 8000  # characters of a link; a longer one is no link a browser would follow


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    skipped: int  # items left out: no link nor guid, a broken link, past MAX_ITEMS
    problem: str | None  # what was wrong with a feed that could still be read


# A numeric character reference to a lone surrogate or past U+10FFFF makes the XML parser
# raise and lose the whole feed; it becomes U+FFFD before parsing instead (NUL is read,
# and dropped before storing).
_BAD_REFERENCE = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{1,8})|0*([0-9]{1,10}));")


def _neutralised(match: re.Match[bytes]) -> bytes:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


# feedparser's own HTML passes (sanitising, absolute URIs inside markup) are much of its time,
# and their output is thrown away: titles and summaries become plain text (fragment_text,
# which drops scripts and styles itself). Entry links are made absolute either way.
_PARSE_OPTIONS: dict[str, Any] = {"sanitize_html": False, "resolve_relative_uris": False}


def parse_feed(content: bytes, base_url: str) -> ParsedFeed:
    content = _BAD_REFERENCE.sub(_neutralised, content) if b"&#" in content else content
    try:
        parsed = feedparser.parse(
            content, response_headers={"content-location": base_url}, **_PARSE_OPTIONS
        )
    except Exception as exc:
        raise ParseError(f"{base_url}: feedparser failed: {type(exc).__name__}: {exc}") from exc
    problem = _problem(parsed)
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(f"{base_url}: not an RSS or Atom feed ({problem or 'no entries'})")
    entries: list[FeedEntry] = []
    reasons: dict[str, int] = {}
    if len(parsed.entries) > MAX_ITEMS:
        reasons[f"past the first {MAX_ITEMS}"] = len(parsed.entries) - MAX_ITEMS
    for raw in parsed.entries[:MAX_ITEMS]:
        entry = _entry(raw)
        if isinstance(entry, str):
            reasons[entry] = reasons.get(entry, 0) + 1
        else:
            entries.append(entry)
    skipped = sum(reasons.values())
    return ParsedFeed(tuple(entries), skipped, _with_skips(problem, reasons))


def _with_skips(problem: str | None, reasons: dict[str, int]) -> str | None:
    """What was left out goes where the feed's health shows it; items with neither link
    nor guid are only counted (they cannot be articles, and feeds send them often)."""
    told = {r: n for r, n in reasons.items() if r != NO_IDENTITY}
    if not told:
        return problem
    skips = "items skipped: " + ", ".join(f"{n} {r}" for r, n in told.items())
    return f"{problem}; {skips}" if problem else skips


# Complaints about HTTP headers, not the feed: servers send the wrong Content-Type all the time.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _problem(parsed: Any) -> str | None:
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if error is None or isinstance(error, _BENIGN):
        return None
    return str(error) or type(error).__name__


NO_IDENTITY = "with neither link nor guid"


def _entry(raw: Any) -> FeedEntry | str:
    """One item, or why it cannot be one (it is left out and counted, never fatal)."""
    given = (raw.get("link") or "").strip()
    link = _link(given)
    if isinstance(link, Broken):
        return link.reason
    guid = (raw.get("id") or "").strip()[:MAX_LINK] or link or given[:MAX_LINK]
    if not guid:
        return NO_IDENTITY
    content = raw.get("content") or []
    body = content[0].get("value", "") if content else raw.get("summary", "")
    return FeedEntry(
        guid=guid,
        link=link,
        title=fragment_text(raw.get("title", "")).strip()[:MAX_TITLE],
        summary=fragment_text(body)[:MAX_TEXT],
        published=_when(raw.get("published_parsed") or raw.get("updated_parsed")),
    )


@dataclass(frozen=True)
class Broken:
    reason: str


def _link(value: str) -> str | Broken | None:
    """The item's link when it is an http(s) URL that parses whole (its port too); None
    when it is something else (``javascript:``, ``mailto:``: kept as text, never a link);
    Broken when it is an http(s) URL no client could follow."""
    if not value:
        return None
    if len(value) > MAX_LINK:
        return Broken(f"with a link over {MAX_LINK} characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a port out of range or not a number)
    except ValueError:
        return Broken("with a broken link")
    if parts.scheme.lower() not in {"http", "https"}:
        return None
    return value if parts.hostname else Broken("with a broken link")


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None

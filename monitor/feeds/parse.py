"""Feed bytes -> entries. The bytes are decoded first (``charset``: HTTP charset, BOM, XML
declaration, detection), then read: JSON Feed by fastfeedparser, RSS and Atom by feedparser,
which keeps the text of a broken document that stricter parsers drop. Either only ever gets
bytes we fetched, never a URL.

An item's identity within its feed is its guid, else its link with the fragment (a live
blog's ``#post-2`` is its own item), else its title and date; aggregator links are resolved
to the publisher's URL where they carry it (``links``)."""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import fastfeedparser
import feedparser

from monitor.entities import FeedEntry
from monitor.errors import ParseError
from monitor.extract import fragment_text
from monitor.feeds import charset, dates, links
from monitor.feeds.alternates import advertised, looks_like_html

dates.register()

MAX_ITEMS = 1000  # entries read per poll; a feed offering more has the rest skipped, counted
MAX_TITLE = 1000  # characters of a title kept
MAX_TEXT = 200_000  # characters of a summary kept (an article page is capped by bytes)
MAX_LINK = 8000  # characters of a link; a longer one is no link a browser would follow


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    skipped: int  # items left out: no identity, a broken link, past MAX_ITEMS
    problem: str | None  # what was wrong with a feed that could still be read
    # What was kept less than offered, or guessed, by kind: the feed's health counts them.
    tallies: Mapping[str, int] = field(default_factory=dict)
    # The WebSub hub the feed advertises, and the topic URL to subscribe to (its self link).
    hub: str | None = None
    topic: str | None = None


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


def parse_feed(content: bytes, base_url: str, content_type: str = "") -> ParsedFeed:
    decoded = charset.decode(content, content_type)
    if _is_json(decoded.text, content_type):
        (raws, links), problem = _json_items(decoded.text, base_url), None
    else:
        raws, problem, links = _xml_items(decoded.text, base_url)
    entries: list[FeedEntry] = []
    reasons: dict[str, int] = {}
    if len(raws) > MAX_ITEMS:
        reasons[f"past the first {MAX_ITEMS}"] = len(raws) - MAX_ITEMS
    for raw in raws[:MAX_ITEMS]:
        entry = _entry(raw)
        if isinstance(entry, str):
            reasons[entry] = reasons.get(entry, 0) + 1
        else:
            entries.append(entry)
    skipped = sum(reasons.values())
    tallies = {"skipped": skipped, "charset_guessed": int(decoded.guessed)}
    notes = "; ".join(n for n in (decoded.note, problem) if n) or None
    hub, topic = links
    return ParsedFeed(
        tuple(entries), skipped, _with_skips(notes, reasons), tallies, hub=hub, topic=topic
    )


def _is_json(text: str, content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in {"application/feed+json", "application/json"} or text.lstrip()[:1] == "{"


Hub = tuple[str | None, str | None]  # a feed's WebSub hub and topic, either may be missing


def _json_items(text: str, base_url: str) -> tuple[list[dict[str, Any]], Hub]:
    """JSON Feed 1.0 and 1.1 items in the shape ``_entry`` reads, and its WebSub hub."""
    try:
        document = json.loads(text)
        version = str(document.get("version", "")) if isinstance(document, dict) else ""
    except ValueError as exc:
        raise ParseError(f"{base_url}: not a JSON Feed: {exc}") from exc
    if not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError(f"{base_url}: JSON without a JSON Feed version: not a feed")
    try:
        parsed = fastfeedparser.parse(text.encode("utf-8"))
    except Exception as exc:
        raise ParseError(f"{base_url}: JSON Feed not readable: {exc}") from exc
    return [_json_item(raw, base_url) for raw in parsed.entries], _json_hub(document, base_url)


def _json_hub(document: dict[str, Any], base_url: str) -> Hub:
    hubs = document.get("hubs")
    hubs = hubs if isinstance(hubs, list) else []
    urls = [
        str(h.get("url") or "")
        for h in hubs
        if isinstance(h, dict) and str(h.get("type", "")).lower() == "websub"
    ]
    topic = document.get("feed_url")
    return _web_url(urls[0] if urls else "", base_url), _web_url(topic, base_url)


def _web_url(value: object, base_url: str) -> str | None:
    """An http(s) URL the document gave (relative ones made absolute), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base_url, value.strip())
    return url if isinstance(_link(url), str) else None


def _json_item(raw: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    related = [x.get("href", "") for x in raw.get("links") or () if x.get("rel") == "related"]
    link = raw.get("link") or (related[0] if related else "")
    when = raw.get("published") or raw.get("updated")
    return {
        "id": "" if raw.get("id") is None else str(raw["id"]),
        "link": urljoin(base_url, str(link)) if link else "",
        "title": str(raw.get("title") or ""),
        "content": raw.get("content") or [],
        "summary": str(raw.get("description") or ""),
        "when": _iso(str(when)) if when else None,
    }


def _iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _xml_items(text: str, base_url: str) -> tuple[list[Any], str | None, Hub]:
    content = _as_utf8(text)
    content = _BAD_REFERENCE.sub(_neutralised, content) if b"&#" in content else content
    headers = {"content-location": base_url, "content-type": "application/xml; charset=utf-8"}
    try:
        parsed = feedparser.parse(content, response_headers=headers, **_PARSE_OPTIONS)
    except Exception as exc:
        raise ParseError(f"{base_url}: feedparser failed: {type(exc).__name__}: {exc}") from exc
    problem = _problem(parsed)
    if not parsed.get("version") and not parsed.entries:
        why = _page_hint(text, base_url) or problem or "no entries"
        raise ParseError(f"{base_url}: not an RSS, Atom or JSON feed ({why})")
    links = {
        str(link.get("rel")): link.get("href")
        for link in reversed(parsed.feed.get("links") or ())  # the first of a rel wins
    }
    hub = _web_url(links.get("hub"), base_url), _web_url(links.get("self"), base_url)
    return list(parsed.entries), problem, hub


def _page_hint(text: str, base_url: str) -> str | None:
    """Where a page's feed is, when a configured address is a page."""
    if not looks_like_html(text):
        return None
    feeds = advertised(text, base_url)
    if feeds:
        return f"an HTML page; it advertises its feed at {feeds[0]}: put that in feeds.yaml"
    return "an HTML page advertising no feed; `monitor feeds add` looks for one"


_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}?\?>")


def _as_utf8(text: str) -> bytes:
    """Decoded text back to bytes feedparser reads as they are: UTF-8, declared so."""
    text = _DECLARATION.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    return text.encode("utf-8", "replace")


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


NO_IDENTITY = "with no guid, link or title"


def _entry(raw: Any) -> FeedEntry | str:
    """One item, or why it cannot be one (it is left out and counted, never fatal)."""
    given = (raw.get("link") or "").strip()
    resolved = links.resolve(given) if given else links.Resolved(given)
    link = _link(resolved.url)
    if isinstance(link, Broken):
        return link.reason
    title = fragment_text(raw.get("title") or raw.get("media_title") or "").strip()[:MAX_TITLE]
    content = raw.get("content") or []
    body = content[0].get("value", "") if content else raw.get("summary", "")
    summary = fragment_text(body)[:MAX_TEXT]
    when = (
        raw["when"]
        if "when" in raw
        else _when(raw.get("published_parsed") or raw.get("updated_parsed"))
    )
    guid = _identity(raw, link or given[:MAX_LINK], title, when)
    if not guid:
        return NO_IDENTITY
    return FeedEntry(guid, link, title, summary, when, link_note=resolved.unresolved)


def _identity(raw: Any, link: str, title: str, when: datetime | None) -> str:
    """The guid, else the link (its fragment kept), else the title with its date."""
    guid = str(raw.get("id") or "").strip()[:MAX_LINK]
    if guid or link:
        return guid or link
    if not title:
        return ""
    dated = f"{title}\n{when.isoformat() if when else ''}".encode()
    return "title:" + hashlib.sha256(dated).hexdigest()[:32]


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

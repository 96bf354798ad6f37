"""The small frozen values that pass between stages (never ORM rows or dicts)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    info = 0
    low = 1
    medium = 2
    high = 3
    critical = 4


# What a feed offered that was not kept as an article of its own, or was guessed: counted
# on the feed's row and in /metrics, so nothing is dropped silently.
TALLIES: Mapping[str, str] = {
    "skipped": "items left out: no identity, a broken link, past the item limit",
    "merged": "items that were an article already stored from another feed",
    "republished": "items republished under a new guid with the same content",
    "revised": "items whose title or text changed: stored as a new revision",
    "charset_guessed": "polls whose charset was guessed (nothing declared fitted)",
    "links_unresolved": "aggregator links that did not lead to the publisher's page",
}


@dataclass(frozen=True)
class Push:
    """A feed's new items as its WebSub hub delivered them, read in place of a fetch."""

    id: int
    body: bytes = field(repr=False)
    content_type: str = ""


@dataclass(frozen=True)
class FeedRef:
    """A feed as the pipeline sees it: its identity and the state a poll needs."""

    id: int
    name: str
    url: str
    language: str | None
    tags: tuple[str, ...]
    full_text: bool
    interval: float
    lowest: float  # adaptive polling's bounds
    highest: float
    kind: str = "rss"  # which source reads it (monitor.sources)
    etag: str | None = None
    last_modified: str | None = None
    fetch_url: str | None = None  # after a permanent redirect; else `url`
    content_hash: str | None = None
    adaptive: bool = True
    poll_interval: float | None = None
    error_count: int = 0
    # When a scheduler claimed it: the next poll is counted from here, not from the end of
    # this one, so a feed polled every 30 s is polled every 30 s, not every 30 + poll time.
    claimed_at: datetime | None = None
    # Settings of its kind (feeds.yaml ``options``), and what its source kept from the
    # last poll (``SourcePoll.state``): both JSON on the feed row.
    options: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    state: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    # WebSub: bodies its hub pushed since the last poll, and whether a subscription is live
    # (then polling is only the slow safety net).
    pushed: tuple[Push, ...] = field(default=(), hash=False, compare=False)
    subscribed: bool = False

    @property
    def address(self) -> str:
        return self.fetch_url or self.url


@dataclass(frozen=True)
class FeedEntry:
    """One item of a parsed feed. ``guid`` is its identity within its feed: the feed's own
    guid, else its link (fragment included), else its title and date."""

    guid: str
    link: str | None
    title: str
    summary: str
    published: datetime | None
    link_note: str | None = None  # why the link is not the publisher's own (an aggregator)
    # The entry's own text is the article (a Telegram post): the page stage fetches nothing,
    # or ``page_url`` (the post's first link) for more text, keeping ``link`` the article's.
    complete: bool = False
    page_url: str | None = None

    @property
    def fingerprint(self) -> str:
        """What the feed says of the item, hashed: a change is a new revision."""
        content = f"{self.title}\n{self.summary}".encode("utf-8", "replace")
        return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Figure:
    """A count the text gives: "близько 9 тисяч військовослужбовців" is 9,000 troops,
    approximate."""

    value: float
    unit: str  # a unit of the lexicon: troops, battalion, tank...
    kind: str  # people, formation, equipment
    approximate: bool
    field: str  # "title" or "text"
    start: int  # offsets in that field
    end: int

    def label(self) -> str:
        """How alerts name it: "≈9,000 troops", "2 battalions"."""
        number = f"{self.value:,.0f}" if self.value == int(self.value) else f"{self.value:g}"
        return f"{'≈' if self.approximate else ''}{number} {_plural(self.unit, self.value)}"


UNCOUNTED = {"troops", "people", "equipment", "artillery", "aircraft"}  # no plural -s


def _plural(unit: str, value: float) -> str:
    if value == 1 or unit in UNCOUNTED:
        return unit
    return unit[:-1] + "ies" if unit.endswith("y") else unit + "s"


@dataclass(frozen=True)
class PlaceRef:
    """A place the text names, resolved to one gazetteer entry."""

    id: str
    name: str  # its English name
    country: str  # ISO 3166 alpha-2
    lat: float
    lon: float
    kind: str  # settlement, region, airfield, range, checkpoint...
    field: str
    start: int
    end: int

    def label(self) -> str:
        """ "Brest (BY)": how alerts name it."""
        return f"{self.name} ({self.country})"


@dataclass(frozen=True)
class Facts:
    """What the language layer read in a document: figures, places and the countries it
    names (those of its places included)."""

    figures: tuple[Figure, ...] = ()
    places: tuple[PlaceRef, ...] = ()
    countries: tuple[str, ...] = ()

    def labels(self, limit: int = 3) -> list[str]:
        """The largest figure of each unit (largest first), then the places in the order
        the text names them: what an alert's facts line shows."""
        best: dict[str, Figure] = {}
        for f in self.figures:
            if f.unit not in best or f.value > best[f.unit].value:
                best[f.unit] = f
        counts = [f.label() for f in sorted(best.values(), key=lambda f: -f.value)[:limit]]
        places = list(dict.fromkeys(p.label() for p in self.places))[:limit]
        return counts + places

    def line(self) -> str:
        """ "≈9,000 troops · 200 equipment · Brest (BY)", or empty."""
        return " · ".join(self.labels())


@dataclass(frozen=True)
class Document:
    """What the matcher reads: a title and a body of plain text, and, once the language
    layer has read it, its facts."""

    title: str
    text: str
    language: str | None = None
    url: str | None = None
    feed: str | None = None
    tags: tuple[str, ...] = ()
    facts: Facts | None = None


@dataclass(frozen=True)
class Article:
    """A new article ready to be stored: the document plus where it came from."""

    feed_id: int
    guid: str
    url: str
    canonical_url: str
    document: Document
    text_source: str  # "page" or "feed"
    text_note: str | None  # why the page text was not used, when it was not
    published: datetime | None
    signature: tuple[int, ...] | None = None  # MinHash, for grouping one story's copies
    entry_hash: str | None = None  # FeedEntry.fingerprint: what the feed said of it
    revises: int | None = None  # the stored article this is a new revision of
    revision: int = 1
    # An alerted article's title and lead embedded, and its anchors (``monitor.stories``):
    # what links it to reports of its story in other words and languages.
    embedding: bytes | None = None
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredArticle:
    """An article read back from the database (for backtests)."""

    id: int
    title: str
    url: str
    feed: str
    fetched_at: datetime
    document: Document
    story_id: int | None = None


@dataclass(frozen=True)
class Evidence:
    term: str
    field: str  # "title" or "text"
    snippet: str


@dataclass(frozen=True)
class Hit:
    rule_id: str
    rule_name: str
    severity: Severity
    score: float
    evidence: tuple[Evidence, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Alert:
    """A stored hit on its way to one channel."""

    delivery_id: int
    channel: str
    rule_id: str
    rule_name: str
    severity: Severity
    headline: str
    source: str
    url: str
    published: datetime | None
    evidence: tuple[Evidence, ...]
    article_id: int = 0
    story_id: int | None = None
    targets_done: frozenset[str] = frozenset()  # keys of the channel's URLs that have it
    revision: int = 1  # the article's revision the rule first matched: above 1, an update
    facts: str = ""  # the article's figures and places, as alerts show them (Facts.line)
    language: str | None = None  # the headline's
    seen: datetime | None = None  # when the article was first seen (stored)
    # A story's message: every rule that fired on the reports it carries (id, name,
    # severity; most severe first), the story's outlets and languages so far, and, for a
    # follow-up, why it was sent.
    story_rules: tuple[tuple[str, str, Severity], ...] = ()
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    followup: str | None = None

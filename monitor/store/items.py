"""Which of a feed's items are new, which are revisions of stored articles, and which are
an article already stored, seen again.

An item is known by its feed and guid. An item new to its feed whose canonical URL is an
article stored from another feed is that article (*merged*); one stored from the same feed
with the same content is a re-publication under a new guid (*republished*); both are kept
as sightings, never stored, matched or alerted again. The same URL from the same feed with
other content is an article of its own: a feed's press releases may all link to one page.
A known item whose title or summary changed is a *revision*.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.entities import FeedEntry
from monitor.feeds.urls import is_web_link, url_hash
from monitor.store.models import ArticleRow, SightingRow, utcnow

_SIGHTINGS = cast(Table, SightingRow.__table__)


def item_key(feed_id: int, guid: str) -> str:
    """``articles.url_hash``: unique, as an item's feed and guid are."""
    return hashlib.sha256(f"{feed_id}\n{guid}".encode()).hexdigest()


def link_hash(url: str) -> str | None:
    return url_hash(url) if is_web_link(url) else None


@dataclass(frozen=True)
class Known:
    """A stored article an item is a revision of."""

    article_id: int
    revision: int


@dataclass(frozen=True)
class Sighting:
    feed_id: int
    guid: str
    url: str
    article_id: int
    reason: str  # merged | republished


@dataclass
class Triage:
    new: list[FeedEntry] = field(default_factory=list)
    revised: list[tuple[FeedEntry, Known]] = field(default_factory=list)
    seen: list[Sighting] = field(default_factory=list)

    def tallies(self) -> dict[str, int]:
        counts = {"merged": 0, "republished": 0, "revised": len(self.revised)}
        for sighting in self.seen:
            counts[sighting.reason] += 1
        return counts


def triage(session: Session, feed_id: int, entries: Sequence[FeedEntry]) -> Triage:
    """Sort a poll's entries; sightings are written in the caller's transaction, and an
    article stored before revisions were tracked gets its entry's fingerprint, quietly."""
    out = Triage()
    guids = list(dict.fromkeys(e.guid for e in entries))
    own = {
        row.guid: row
        for row in session.execute(
            select(
                ArticleRow.id, ArticleRow.guid, ArticleRow.entry_hash, ArticleRow.revision
            ).where(ArticleRow.feed_id == feed_id, ArticleRow.guid.in_(guids))
        )
    }
    sighted = set(
        session.scalars(
            select(SightingRow.guid).where(
                SightingRow.feed_id == feed_id, SightingRow.guid.in_(guids)
            )
        )
    )
    rest = [e for e in entries if e.guid not in own and e.guid not in sighted]
    stored = same_links(session.connection(), [e.link or "" for e in rest])
    for entry in rest:
        found = same_article(stored, entry.link or "", feed_id, entry.fingerprint)
        if found is None:
            out.new.append(entry)
        else:
            out.seen.append(Sighting(feed_id, entry.guid, entry.link or entry.guid, *found))
    backfill = []
    for entry in entries:
        row = own.get(entry.guid)
        if row is None or row.entry_hash == entry.fingerprint:
            continue
        if row.entry_hash is None:
            backfill.append({"article": row.id, "fingerprint": entry.fingerprint})
        else:
            out.revised.append((entry, Known(row.id, row.revision)))
    if backfill:
        session.execute(_BACKFILL, backfill)
    record_sightings(session.connection(), out.seen)
    return out


_ARTICLES = cast(Table, ArticleRow.__table__)
_BACKFILL = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("article"))
    .values(entry_hash=bindparam("fingerprint"))
)


Stored = dict[str, list[tuple[int, int, str | None]]]  # link hash -> (id, feed, entry hash)


def same_links(conn: Connection, urls: Iterable[str]) -> Stored:
    hashes = {h for h in (link_hash(u) for u in urls if u) if h}
    found: Stored = {}
    if not hashes:
        return found
    query = select(
        ArticleRow.link_hash, ArticleRow.id, ArticleRow.feed_id, ArticleRow.entry_hash
    ).where(ArticleRow.link_hash.in_(hashes))
    for h, article, feed, entry in conn.execute(query):
        found.setdefault(h or "", []).append((article, feed, entry))
    return found


def same_article(
    stored: Stored, url: str, feed_id: int, fingerprint: str | None
) -> tuple[int, str] | None:
    """(article id, reason) of the stored article an item new to its feed already is."""
    h = link_hash(url) if url else None
    rows = stored.get(h or "", [])
    for article, feed, _ in rows:
        if feed != feed_id:
            return article, "merged"
    for article, _, entry in rows:
        if fingerprint is not None and entry == fingerprint:
            return article, "republished"
    return None


def record_sightings(conn: Connection, seen: Sequence[Sighting]) -> None:
    if not seen:
        return
    now = utcnow()
    rows = [
        {
            "feed_id": s.feed_id,
            "guid": s.guid,
            "url": s.url,
            "article_id": s.article_id,
            "reason": s.reason,
            "seen_at": now,
        }
        for s in seen
    ]
    make = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(make.insert(_SIGHTINGS).on_conflict_do_nothing(), rows)

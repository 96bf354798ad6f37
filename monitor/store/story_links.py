"""Stories across wording and language in the database: the readings (embedding, anchors)
of recent alerted articles, the story each new one joins, and why.

Linking is decided once: on PostgreSQL the group's linking holds a transaction-level
advisory lock, so two replicas storing the English and the Russian report at the same
moment take turns, and the second sees the first's story. (SQLite has one writer.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select, text, update

from monitor.entities import Article
from monitor.store.models import ArticleRow, DeliveryRow, StoryLinkRow, StoryMessageRow
from monitor.stories.anchors import Anchors
from monitor.stories.link import LinkSettings, Reading, joins, ranked

_LINKS = cast(Table, StoryLinkRow.__table__)
_ARTICLES = cast(Table, ArticleRow.__table__)
_DELIVERIES = cast(Table, DeliveryRow.__table__)
_TOLD = cast(Table, StoryMessageRow.__table__)
_LOCK = text("SELECT pg_advisory_xact_lock(7201)")  # any fixed number: "story linking"


@dataclass(frozen=True)
class Found:
    """A story found by linking: a stored article's or an earlier group member's."""

    stored: int | None  # the stored story's id
    earlier: int | None  # the position of an earlier article of the group
    linked_to: int | None  # the stored article it was close to
    why: str
    merged: tuple[int, ...] = ()  # younger stored stories this report showed to be this one


def reading(article: Article) -> Reading | None:
    if article.embedding is None:
        return None
    return Reading(article.document.language, article.embedding, Anchors.from_list(article.anchors))


def recent(conn: Connection, since: datetime) -> list[tuple[int, int, Reading]]:
    """(article, story, reading) of the articles linked since ``since``."""
    rows = conn.execute(
        select(
            _LINKS.c.article_id,
            _LINKS.c.story_id,
            _LINKS.c.language,
            _LINKS.c.embedding,
            _LINKS.c.anchors,
        ).where(_LINKS.c.created_at >= since)
    )
    return [(a, s, Reading(lang, vec, Anchors.from_list(anc))) for a, s, lang, vec, anc in rows]


def link_group(
    conn: Connection,
    articles: Sequence[Article],
    unlinked: Sequence[bool],
    since: datetime,
    settings: LinkSettings,
) -> list[Found | None]:
    """For each article with a reading that copies found no story for (``unlinked``), the
    story of the closest recent article, stored or earlier in the group."""
    readings = [reading(a) for a in articles]
    wanted = [i for i, r in enumerate(readings) if r is not None and unlinked[i]]
    found: list[Found | None] = [None] * len(articles)
    if not wanted:
        return found
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)
    stored = recent(conn, since)
    for i in wanted:
        own = cast(Reading, readings[i])
        earlier = [j for j in range(i) if readings[j] is not None]
        others = [r for _, _, r in stored] + [cast(Reading, readings[j]) for j in earlier]
        found_ = ranked(own, others, settings)
        if not found_:
            continue
        n, link = found_[0]
        if n >= len(stored):
            found[i] = Found(None, earlier[n - len(stored)], None, link.why())
            continue
        article, story, _ = stored[n]
        also = {stored[m][1] for m, other in found_[1:] if m < len(stored) and joins(other)}
        keep = min({story} | also)
        merged = tuple(sorted((also | {story}) - {keep}))
        if merged:
            merge_stories(conn, keep, merged)
            stored = [(a, keep if s in merged else s, r) for a, s, r in stored]
        why = link.why() + (f"; one story with {', '.join(map(str, merged))}" if merged else "")
        found[i] = Found(keep, None, article, why, merged)
    return found


def merge_stories(conn: Connection, keep: int, merged: Sequence[int]) -> None:
    """Younger stories into an older one: their articles, readings and deliveries, and
    what channels were told (kept where the older story has nothing)."""
    for table in (_ARTICLES, _LINKS, _DELIVERIES):
        conn.execute(update(table).where(table.c.story_id.in_(merged)).values(story_id=keep))
    kept = set(conn.scalars(select(_TOLD.c.channel).where(_TOLD.c.story_id == keep)))
    for channel, story in conn.execute(
        select(_TOLD.c.channel, _TOLD.c.story_id).where(_TOLD.c.story_id.in_(merged))
    ):
        row = (_TOLD.c.story_id == story) & (_TOLD.c.channel == channel)
        if channel in kept:
            conn.execute(delete(_TOLD).where(row))
        else:
            conn.execute(update(_TOLD).where(row).values(story_id=keep))
            kept.add(channel)


def store_links(
    conn: Connection,
    rows: Sequence[tuple[int, int, Article, int | None, str]],
    now: datetime,
) -> None:
    """Readings of stored articles: (article id, story, article, linked to, why)."""
    values = [
        {
            "article_id": article_id,
            "story_id": story,
            "language": article.document.language,
            "embedding": article.embedding,
            "anchors": list(article.anchors),
            "linked_to": linked_to,
            "why": why,
            "created_at": now,
        }
        for article_id, story, article, linked_to, why in rows
        if article.embedding is not None
    ]
    if values:
        conn.execute(insert(_LINKS), values)

"""Articles, their hits and pending deliveries (stored a group at a time, in the caller's
transaction), and reading articles back (hits, backtests)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.entities import (
    Article,
    Document,
    Evidence,
    Hit,
    Severity,
    StoredArticle,
)
from monitor.feeds.urls import url_hash
from monitor.store import stories as story_db
from monitor.store.models import (
    ArticleRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    utcnow,
)
from monitor.stories import STORY_SIMILARITY, STORY_WINDOW, band_keys, pack

_ARTICLES = cast(Table, ArticleRow.__table__)
_HITS = cast(Table, HitRow.__table__)
_DELIVERIES = cast(Table, DeliveryRow.__table__)
# The statements run for every group of stored articles, built once: building a statement
# (and its cache key) per article cost more than running it. Values are bound at execution.
_NEW_ARTICLES = {
    dialect: make.insert(_ARTICLES)
    .on_conflict_do_nothing()
    .returning(_ARTICLES.c.id, _ARTICLES.c.feed_id, _ARTICLES.c.guid)
    for dialect, make in (("postgresql", postgresql), ("sqlite", sqlite))
}
_SET_STORY = (
    update(_ARTICLES)
    .where(_ARTICLES.c.id == bindparam("article"))
    .values(story_id=bindparam("story"))
)
_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, :n)"
)
# Rows come back in no set order (asked for in order, SQLite inserted them one at a time):
# a hit is known by its article and rule, which are unique together.
_NEW_HITS = insert(_HITS).returning(_HITS.c.id, _HITS.c.article_id, _HITS.c.rule_id)
_NEW_DELIVERIES = insert(_DELIVERIES)


@dataclass(frozen=True)
class HitView:
    hit_id: int
    rule_id: str
    rule_name: str
    severity: Severity
    score: float
    headline: str
    url: str
    feed: str
    created_at: datetime
    evidence: tuple[Evidence, ...]
    deliveries: tuple[tuple[str, str], ...]  # (channel, status)


def unknown_entries(session: Session, feed_id: int, keys: Iterable[tuple[str, str]]) -> set[str]:
    """Of (guid, link) pairs, the guids not yet stored for this feed nor under that URL."""
    pairs = list(keys)
    guids = [g for g, _ in pairs]
    hashes = {url_hash(link): g for g, link in pairs}
    known = set(
        session.scalars(
            select(ArticleRow.guid).where(ArticleRow.feed_id == feed_id, ArticleRow.guid.in_(guids))
        )
    )
    for found in session.scalars(
        select(ArticleRow.url_hash).where(ArticleRow.url_hash.in_(hashes))
    ):
        known.add(hashes[found])
    return {g for g in guids if g not in known}


STORY_DEFAULTS = (STORY_WINDOW, STORY_SIMILARITY)


def store_article(
    session: Session,
    article: Article,
    hits: Sequence[Hit],
    stories: tuple[float, float] = STORY_DEFAULTS,
) -> int | None:
    """``store_articles`` for one article."""
    return store_articles(session, [(article, hits)], stories)[0]


def store_articles(
    session: Session,
    items: Sequence[tuple[Article, Sequence[Hit]]],
    stories: tuple[float, float] = STORY_DEFAULTS,
) -> list[int | None]:
    """Store articles with their hits and one pending delivery per channel of each hit
    (``Hit.channels``, decided when it was matched), in the caller's
    transaction; each article's id, or None if it was already stored (by guid for its
    feed, or by canonical URL). ``stories`` is (window seconds, similarity): an article
    close enough to one stored within the window, or to an earlier one of ``items``, joins
    that article's story.

    A fixed number of statements for the whole group, each of them Core, built once: per
    article, executing six statements cost the service more than anything they did, and
    PostgreSQL parsed, planned and answered each."""
    if not items:
        return []
    conn = session.connection()
    window, threshold = stories
    sigs = [article.signature or None for article, _ in items]
    keys = [band_keys(sig) if sig else [] for sig in sigs]
    packed = [pack(sig) if sig else None for sig in sigs]
    now = utcnow()
    found = story_db.candidates(conn, keys, now - timedelta(seconds=window))
    chosen = story_db.choose(packed, keys, found, threshold)
    ids, written = _insert(conn, items, packed, chosen)
    settled = _stories(ids, chosen)
    moved = [
        {"article": i, "story": story}
        for i, story, was in zip(ids, settled, written, strict=True)
        if i is not None and story != was
    ]
    if moved:
        conn.execute(_SET_STORY, moved)
    story_db.store_keys(conn, [(i, k) for i, k in zip(ids, keys, strict=True) if i and k], now)
    stored = [
        (i, story, hits)
        for i, story, (_, hits) in zip(ids, settled, items, strict=True)
        if i is not None
    ]
    _insert_hits(conn, stored)
    return ids


def _insert(
    conn: Connection,
    items: Sequence[tuple[Article, Sequence[Hit]]],
    packed: Sequence[bytes | None],
    chosen: Sequence[story_db.Story],
) -> tuple[list[int | None], list[int | None]]:
    """The articles inserted: each one's id (None if already stored) and the story written
    with it. A story of its own is named after its first article. PostgreSQL draws the ids
    first so that row is written once: setting story_id afterwards rewrote it and, as the
    column is indexed, put the article's words into the full-text index again. SQLite's
    update touches only the row and the story_id index."""
    rows = [_values(article, sig) for (article, _), sig in zip(items, packed, strict=True)]
    if conn.dialect.name == "postgresql":
        drawn: list[int | None] = list(conn.execute(_NEXT_IDS, {"n": len(rows)}).scalars())
        for row, i, story in zip(rows, drawn, _stories(drawn, chosen), strict=True):
            row["id"], row["story_id"] = i, story
    else:
        for row, choice in zip(rows, chosen, strict=True):
            row["story_id"] = choice.stored
    # ON CONFLICT DO NOTHING: no row back for an article already stored (a replica may
    # have stored it meanwhile); rows come back in no set order, so by (feed, guid).
    returned = {(f, g): i for i, f, g in conn.execute(_NEW_ARTICLES[conn.dialect.name], rows)}
    ids = [returned.pop((article.feed_id, article.guid), None) for article, _ in items]
    return ids, [row["story_id"] for row in rows]


def _values(article: Article, packed: bytes | None) -> dict[str, Any]:
    doc = article.document
    return {
        "feed_id": article.feed_id,
        "guid": article.guid,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "url_hash": url_hash(article.canonical_url),
        "title": doc.title,
        "text": doc.text,
        "text_source": article.text_source,
        "text_note": article.text_note,
        "language": doc.language,
        "published_at": article.published,
        "signature": packed,
    }


def _stories(ids: Sequence[int | None], chosen: Sequence[story_db.Story]) -> list[int | None]:
    """Each stored article's story id: a stored story's, an earlier article's story if
    that one was stored, else its own id (None for an article not stored)."""
    out: list[int | None] = []
    for own, story in zip(ids, chosen, strict=True):
        if story.stored is not None:
            out.append(story.stored)
        elif story.earlier is not None and ids[story.earlier] is not None:
            out.append(out[story.earlier])
        else:
            out.append(own)
    return out


def _insert_hits(
    conn: Connection,
    stored: Sequence[tuple[int, int | None, Sequence[Hit]]],
) -> None:
    """The hits of stored articles (id, story, hits) and one pending delivery per channel;
    a delivery carries the story and rule, so that the outbox finds a story's first alert
    from the deliveries' own index."""
    owned = [(article, story, hit) for article, story, hits in stored for hit in hits]
    if not owned:
        return
    rows = [
        {
            "article_id": article,
            "rule_id": hit.rule_id,
            "rule_name": hit.rule_name,
            "severity": int(hit.severity),
            "score": hit.score,
            "evidence": [
                {"term": e.term, "field": e.field, "snippet": e.snippet} for e in hit.evidence
            ],
        }
        for article, _, hit in owned
    ]
    ids = {(article, rule): i for i, article, rule in conn.execute(_NEW_HITS, rows)}
    deliveries = [
        {
            "hit_id": ids[article, hit.rule_id],
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "story_id": story,
            "rule_id": hit.rule_id,
        }
        for article, story, hit in owned
        for channel in dict.fromkeys(hit.channels)
    ]
    if deliveries:
        conn.execute(_NEW_DELIVERIES, deliveries)


def _evidence(raw: Iterable[dict[str, str]]) -> tuple[Evidence, ...]:
    return tuple(Evidence(term=e["term"], field=e["field"], snippet=e["snippet"]) for e in raw)


def recent_hits(session: Session, since: datetime, rule_id: str | None = None) -> list[HitView]:
    query = (
        select(HitRow, ArticleRow, FeedRow)
        .join(ArticleRow, HitRow.article_id == ArticleRow.id)
        .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
        .where(HitRow.created_at >= since)
        .order_by(HitRow.created_at.desc(), HitRow.id.desc())
    )
    if rule_id:
        query = query.where(HitRow.rule_id == rule_id)
    rows = session.execute(query).all()
    deliveries: dict[int, list[tuple[str, str]]] = {}
    ids = [h.id for h, _, _ in rows]
    for d in session.scalars(select(DeliveryRow).where(DeliveryRow.hit_id.in_(ids))):
        deliveries.setdefault(d.hit_id, []).append((d.channel, d.status))
    return [
        HitView(
            hit_id=h.id,
            rule_id=h.rule_id,
            rule_name=h.rule_name,
            severity=Severity(h.severity),
            score=h.score,
            headline=a.title,
            url=a.url,
            feed=f.name,
            created_at=h.created_at,
            evidence=_evidence(h.evidence),
            deliveries=tuple(sorted(deliveries.get(h.id, []))),
        )
        for h, a, f in rows
    ]


def count_articles(session: Session, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ArticleRow).where(ArticleRow.fetched_at >= since)
        )
        or 0
    )


def iter_articles(session: Session, since: datetime, batch: int = 500) -> Iterator[StoredArticle]:
    """Stored articles fetched since ``since``, newest first, read in batches."""
    last_id: int | None = None
    while True:
        query = (
            select(ArticleRow, FeedRow)
            .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
            .where(ArticleRow.fetched_at >= since)
            .order_by(ArticleRow.id.desc())
            .limit(batch)
        )
        if last_id is not None:
            query = query.where(ArticleRow.id < last_id)
        rows = session.execute(query).all()
        if not rows:
            return
        for a, f in rows:
            yield _stored(a, f)
        last_id = rows[-1][0].id


def articles_by_id(
    session: Session, ids: Sequence[int], batch: int = 500
) -> Iterator[StoredArticle]:
    """The stored articles with these ids, in the order given, read in batches."""
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = session.execute(
            select(ArticleRow, FeedRow)
            .join(FeedRow, ArticleRow.feed_id == FeedRow.id)
            .where(ArticleRow.id.in_(chunk))
        ).all()
        found = {a.id: _stored(a, f) for a, f in rows}
        yield from (found[i] for i in chunk if i in found)


def _stored(a: ArticleRow, f: FeedRow) -> StoredArticle:
    doc = Document(a.title, a.text, a.language, a.url, f.name, tuple(f.tags or ()))
    return StoredArticle(a.id, a.title, a.url, f.name, a.fetched_at, doc)

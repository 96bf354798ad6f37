"""Articles, their hits and pending deliveries (one transaction per article), stories
(near-duplicate grouping) and reading articles back (hits, backtests)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
from monitor.notify.stories import as_lanes, band_keys, pack, similarity_to_packed
from monitor.store.models import (
    ArticleRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    StoryKeyRow,
    utcnow,
)

_ARTICLES = cast(Table, ArticleRow.__table__)
_HITS = cast(Table, HitRow.__table__)
_DELIVERIES = cast(Table, DeliveryRow.__table__)
_STORY_KEYS = cast(Table, StoryKeyRow.__table__)
# Articles compared in full when grouping a new one: those sharing the most band keys. A
# boilerplate lead shared by thousands of articles would otherwise mean unpacking and
# comparing thousands of signatures for every article stored.
STORY_CANDIDATES = 50

# The statements run for every stored article, built once: building a statement (and its
# cache key) per article cost more than running it. Values are bound at execution.
_NEW_ARTICLE = {
    "postgresql": postgresql_insert(_ARTICLES).on_conflict_do_nothing().returning(_ARTICLES.c.id),
    "sqlite": sqlite_insert(_ARTICLES).on_conflict_do_nothing().returning(_ARTICLES.c.id),
}
_OWN_STORY = (
    update(_ARTICLES).where(_ARTICLES.c.id == bindparam("article")).values(story_id=_ARTICLES.c.id)
)
_NEXT_ID = text("SELECT nextval(pg_get_serial_sequence('articles', 'id'))")
_NEW_HITS = insert(_HITS).returning(_HITS.c.id, sort_by_parameter_order=True)
_NEW_DELIVERIES = insert(_DELIVERIES)


def _key_statements(dialect: str) -> tuple[Insert, Select[Any]]:
    """An article's band keys stored, and looked up, with the keys bound as one value (a
    JSON array on SQLite, an array on PostgreSQL). Bound one by one, as 20 rows of (key,
    article, time) and as a list of 20, each value went through SQLAlchemy's parameter
    processing: storing an article took 16% more instructions (callgrind, SQLite)."""
    keys = bindparam("keys", type_=ARRAY(String)) if dialect == "postgresql" else bindparam("keys")
    given = (
        func.unnest(keys).table_valued("value").render_derived()
        if dialect == "postgresql"
        else func.json_each(keys).table_valued("value")
    )
    store = insert(_STORY_KEYS).from_select(
        ["key", "article_id", "created_at"],
        select(
            given.c.value,
            bindparam("article", type_=Integer),
            bindparam("now", type_=_STORY_KEYS.c.created_at.type),
        ),
    )
    # = ANY(array) is what PostgreSQL made of the IN list; SQLite probes the index per key.
    wanted = (
        _STORY_KEYS.c.key == any_(keys)
        if dialect == "postgresql"
        else _STORY_KEYS.c.key.in_(select(given.c.value))
    )
    shared = (
        select(_STORY_KEYS.c.article_id, func.count().label("shared"))
        .where(wanted, _STORY_KEYS.c.created_at >= bindparam("since"))
        .group_by(_STORY_KEYS.c.article_id)
        .order_by(func.count().desc(), _STORY_KEYS.c.article_id.desc())
        .limit(STORY_CANDIDATES)
        .subquery()
    )
    candidates = select(_ARTICLES.c.id, _ARTICLES.c.story_id, _ARTICLES.c.signature).join(
        shared, shared.c.article_id == _ARTICLES.c.id
    )
    return store, candidates


_KEYS = {dialect: _key_statements(dialect) for dialect in ("postgresql", "sqlite")}


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


def store_article(
    session: Session,
    article: Article,
    hits: Sequence[Hit],
    channels: Callable[[Hit], Iterable[str]],
    stories: tuple[float, float] = (12 * 3600.0, 0.5),
) -> int | None:
    """Store an article with its hits and one pending delivery per channel, in the caller's
    transaction; None if the article was already stored (by guid for this feed, or by
    canonical URL). ``stories`` is (window seconds, similarity): an article close enough to
    one stored within the window joins that article's story.

    Every statement here is Core, built once, run on the session's connection: the ORM's
    execution path (and its bulk path) cost more than the statements themselves on a cold
    cycle, and none of these rows is read back as an object."""
    conn = session.connection()
    doc = article.document
    sig = article.signature or None
    story, keys = _story_of(conn, sig, *stories)
    values = {
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
        "signature": pack(sig) if sig else None,
        "story_id": story,
    }
    # A story of its own is named after its first article. PostgreSQL draws the id first so
    # the row is written once: setting story_id afterwards rewrote the row and, as the
    # column is indexed, put the article's few hundred words into the full-text index again.
    # SQLite's update touches only the row and the story_id index.
    if story is None and conn.dialect.name == "postgresql":
        values["id"] = values["story_id"] = conn.execute(_NEXT_ID).scalar_one()
    # ON CONFLICT DO NOTHING: one statement, no savepoint; no row when the article is
    # already stored (same feed and guid, or same canonical URL).
    article_id: int | None = conn.execute(_NEW_ARTICLE[conn.dialect.name], values).scalar()
    if article_id is None:
        return None
    if values["story_id"] is None:
        conn.execute(_OWN_STORY, {"article": article_id})
    if keys:
        params = {"keys": _bound(conn, keys), "article": article_id, "now": utcnow()}
        conn.execute(_KEYS[conn.dialect.name][0], params)
    _insert_hits(conn, (article_id, story or article_id), hits, channels)
    return article_id


def _insert_hits(
    conn: Connection,
    article: tuple[int, int],
    hits: Sequence[Hit],
    channels: Callable[[Hit], Iterable[str]],
) -> None:
    """The hits of an article (id, story) and one pending delivery per channel; a delivery
    carries the story and rule, so that the outbox finds a story's first alert from the
    deliveries' own index."""
    article_id, story = article
    if not hits:
        return
    rows = [
        {
            "article_id": article_id,
            "rule_id": hit.rule_id,
            "rule_name": hit.rule_name,
            "severity": int(hit.severity),
            "score": hit.score,
            "evidence": [
                {"term": e.term, "field": e.field, "snippet": e.snippet} for e in hit.evidence
            ],
        }
        for hit in hits
    ]
    ids = conn.execute(_NEW_HITS, rows).scalars()
    deliveries = [
        {
            "hit_id": hit_id,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "story_id": story,
            "rule_id": hit.rule_id,
        }
        for hit_id, hit in zip(ids.all(), hits, strict=True)
        for channel in dict.fromkeys(channels(hit))
    ]
    if deliveries:
        conn.execute(_NEW_DELIVERIES, deliveries)


def _story_of(
    conn: Connection, sig: tuple[int, ...] | None, window: float, threshold: float
) -> tuple[int | None, list[str]]:
    """The story an article reports (the best close match's, or None: its own) and the
    article's band keys."""
    if not sig:
        return None, []
    keys, lanes = band_keys(sig), as_lanes(sig)
    since = utcnow() - timedelta(seconds=window)
    best, story = threshold, None
    for other_id, other_story, other_sig in story_candidates(conn, keys, since):
        if other_sig and (score := similarity_to_packed(lanes, other_sig)) >= best:
            best, story = score, other_story or other_id
    return story, keys


def story_candidates(
    conn: Connection, keys: Sequence[str], since: datetime
) -> Sequence[tuple[int, int | None, bytes | None]]:
    """(id, story, signature) of the recent articles sharing the most band keys."""
    params = {"keys": _bound(conn, keys), "since": since}
    return [(i, story, sig) for i, story, sig in conn.execute(_KEYS[conn.dialect.name][1], params)]


def _bound(conn: Connection, keys: Sequence[str]) -> str | list[str]:
    return list(keys) if conn.dialect.name == "postgresql" else json.dumps(list(keys))


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

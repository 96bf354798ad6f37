"""Articles, their hits and pending deliveries (stored a group at a time, in the caller's
transaction), and reading articles back (hits, backtests)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
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
from monitor.store import items as item_db
from monitor.store import stories as story_db
from monitor.store import story_links as link_db
from monitor.store.facts import facts_json, places_index
from monitor.store.models import (
    ArticleRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    utcnow,
)
from monitor.store.revisions import store_revisions
from monitor.stories import STORY_SIMILARITY, STORY_WINDOW, band_keys, pack
from monitor.stories.link import LINKS, LinkSettings

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
    """``store_group``'s article ids: each one's id, or None if it was not stored."""
    return [stored.article_id for stored in store_group(session, items, stories)]


@dataclass(frozen=True)
class StoredItem:
    article_id: int | None  # None: already stored, or merged into another feed's article
    rules: tuple[str, ...] = ()  # of the hits stored with it
    merged: str | None = None  # "merged" or "republished" when it was an article already
    revised: bool = False


def store_group(
    session: Session,
    items: Sequence[tuple[Article, Sequence[Hit]]],
    stories: tuple[float, float] = STORY_DEFAULTS,
    corrections: Collection[str] = (),
    links: LinkSettings = LINKS,
) -> list[StoredItem]:
    """Store articles with their hits and one pending delivery per channel of each hit
    (``Hit.channels``, decided when it was matched), in the caller's transaction. An
    article already stored (by guid for its feed) is not stored again; one whose final
    URL is another feed's article is recorded as seen there (``items``); a new revision
    replaces its article's text (``revisions``; ``corrections`` are the channels that
    get a follow-up). ``stories`` is (window seconds, similarity): an article close
    enough to one stored within the window, or to an earlier one of ``items``, joins
    that article's story; failing that, an article with a reading (``Article.embedding``)
    joins the story of the closest report in other words or languages (``links``).

    A fixed number of statements for the whole group of new articles, each of them Core,
    built once: per article, executing six statements cost the service more than anything
    they did, and PostgreSQL parsed, planned and answered each."""
    if not items:
        return []
    conn = session.connection()
    out: list[StoredItem | None] = [None] * len(items)
    revised = [i for i, (article, _) in enumerate(items) if article.revises is not None]
    done = store_revisions(conn, [items[i] for i in revised], _insert_hits, corrections)
    for i, (article_id, rules) in zip(revised, done, strict=True):
        out[i] = StoredItem(article_id, rules, revised=True)
    fresh = [i for i, (article, _) in enumerate(items) if article.revises is None]
    merged = _merged(conn, [items[i][0] for i in fresh])
    for i, (_, reason) in merged.items():
        out[fresh[i]] = StoredItem(None, merged=reason)
    new = [fresh[i] for i in range(len(fresh)) if i not in merged]
    twins = _twins([items[i][0] for i in new])  # another feed's copy in this very group
    kept = [i for n, i in enumerate(new) if n not in twins]
    for i, stored in zip(
        kept, _store_new(conn, [items[i] for i in kept], stories, links), strict=True
    ):
        out[i] = stored
    seen = []
    for n, first in twins.items():
        article, into = items[new[n]][0], out[new[first]]
        out[new[n]] = StoredItem(None, merged="merged")
        if into is not None and into.article_id is not None:
            sighting = (article.feed_id, article.guid, article.url, into.article_id, "merged")
            seen.append(item_db.Sighting(*sighting))
    item_db.record_sightings(conn, seen)
    return [o if o is not None else StoredItem(None) for o in out]


def _twins(articles: Sequence[Article]) -> dict[int, int]:
    """Articles of a group whose URL an earlier one from another feed has: index -> its."""
    first: dict[str, int] = {}
    twins: dict[int, int] = {}
    for n, article in enumerate(articles):
        key = item_db.link_hash(article.canonical_url)
        if key is None:
            continue
        earlier = first.setdefault(key, n)
        if earlier != n and articles[earlier].feed_id != article.feed_id:
            twins[n] = earlier
    return twins


def _merged(conn: Connection, articles: Sequence[Article]) -> dict[int, tuple[int, str]]:
    """Of articles new to their feeds, those whose final URL is an article stored from
    another feed (or from their own, with the same content): recorded as sightings."""
    stored = item_db.same_links(conn, (a.canonical_url for a in articles))
    found: dict[int, tuple[int, str]] = {}
    for i, article in enumerate(articles):
        hit = item_db.same_article(
            stored, article.canonical_url, article.feed_id, article.entry_hash
        )
        if hit is not None:
            found[i] = hit
    item_db.record_sightings(
        conn,
        [
            item_db.Sighting(articles[i].feed_id, articles[i].guid, articles[i].url, *hit)
            for i, hit in found.items()
        ],
    )
    return found


def _store_new(
    conn: Connection,
    items: Sequence[tuple[Article, Sequence[Hit]]],
    stories: tuple[float, float],
    links: LinkSettings,
) -> list[StoredItem]:
    if not items:
        return []
    window, threshold = stories
    sigs = [article.signature or None for article, _ in items]
    keys = [band_keys(sig) if sig else [] for sig in sigs]
    packed = [pack(sig) if sig else None for sig in sigs]
    now = utcnow()
    since = now - timedelta(seconds=window)
    found = story_db.candidates(conn, keys, since)
    copies = story_db.choose(packed, keys, found, threshold)
    articles = [article for article, _ in items]
    unlinked = [c == story_db.Story() for c in copies]
    linked = link_db.link_group(conn, articles, unlinked, since, links)
    chosen = [
        story_db.Story(stored=f.stored, earlier=f.earlier) if f else c
        for c, f in zip(copies, linked, strict=True)
    ]
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
    link_db.store_links(conn, _link_rows(ids, settled, articles, copies, linked), now)
    stored = [
        (i, story, hits, 1)
        for i, story, (_, hits) in zip(ids, settled, items, strict=True)
        if i is not None
    ]
    _insert_hits(conn, stored)
    return [
        StoredItem(i, tuple(h.rule_id for h in hits) if i is not None else ())
        for i, (_, hits) in zip(ids, items, strict=True)
    ]


def _link_rows(
    ids: Sequence[int | None],
    settled: Sequence[int | None],
    articles: Sequence[Article],
    copies: Sequence[story_db.Story],
    linked: Sequence[link_db.Found | None],
) -> list[tuple[int, int, Article, int | None, str]]:
    """What the story page says of each stored article with a reading: how it joined."""
    rows = []
    for i, story, article, copy, found in zip(ids, settled, articles, copies, linked, strict=True):
        if i is None or story is None or article.embedding is None:
            continue
        if found is not None:
            to = found.linked_to if found.earlier is None else ids[found.earlier]
            rows.append((i, story, article, to, found.why))
        elif copy != story_db.Story():
            rows.append((i, story, article, None, "same wording as an earlier report"))
        else:
            rows.append((i, story, article, None, "first report"))
    return rows


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
        "url_hash": item_db.item_key(article.feed_id, article.guid),
        "link_hash": item_db.link_hash(article.canonical_url),
        "entry_hash": article.entry_hash,
        "title": doc.title,
        "text": doc.text,
        "text_source": article.text_source,
        "text_note": article.text_note,
        "language": doc.language,
        "published_at": article.published,
        "signature": packed,
        "facts": facts_json(doc.facts),
        "places_index": places_index(doc.facts),
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
    stored: Sequence[tuple[int, int | None, Sequence[Hit], int]],
) -> int:
    """The hits of stored articles (id, story, hits, revision) and one pending delivery per
    channel; a delivery carries the story and rule, so that the outbox finds a story's
    first alert from the deliveries' own index. The number of hits stored."""
    owned = [
        (article, story, hit, revision) for article, story, hits, revision in stored for hit in hits
    ]
    if not owned:
        return 0
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
            "revision": revision,
        }
        for article, _, hit, revision in owned
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
        for article, story, hit, _ in owned
        for channel in dict.fromkeys(hit.channels)
    ]
    if deliveries:
        conn.execute(_NEW_DELIVERIES, deliveries)
    return len(rows)


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


def signatures(session: Session, ids: Sequence[int]) -> dict[int, bytes]:
    """The stored MinHash signatures of these articles (packed)."""
    rows = session.execute(
        select(ArticleRow.id, ArticleRow.signature).where(ArticleRow.id.in_(ids))
    )
    return {i: sig for i, sig in rows if sig}


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
    return StoredArticle(a.id, a.title, a.url, f.name, a.fetched_at, doc, a.story_id or a.id)

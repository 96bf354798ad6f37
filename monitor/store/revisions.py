"""A stored article's new revision: the feed changed its title or text.

The article row shows the latest; the text it replaces goes to ``article_revisions``. The
new text is matched again: a rule that fires for the first time gets its hit (marked with
the revision, so its alert says it is an update) and its deliveries; a rule that had fired
does not alert again. Channels that ask for corrections (``corrections: true``) and were
sent an alert for the article get a follow-up notice saying what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import cast

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.entities import Article, Hit
from monitor.store.facts import facts_json, places_index
from monitor.store.models import (
    ArticleRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    NoticeRow,
    RevisionRow,
    utcnow,
)
from monitor.stories import pack

_ARTICLES = cast(Table, ArticleRow.__table__)
_REVISIONS = cast(Table, RevisionRow.__table__)
InsertHits = Callable[[Connection, Sequence[tuple[int, int | None, Sequence[Hit], int]]], int]


def store_revisions(
    conn: Connection,
    items: Sequence[tuple[Article, Sequence[Hit]]],
    insert_hits: InsertHits,
    corrections: Collection[str] = (),
) -> list[tuple[int | None, tuple[str, ...]]]:
    """For each revision, (article id or None if another replica stored it first, the rules
    of the hits it added)."""
    return [_one(conn, article, hits, insert_hits, corrections) for article, hits in items]


def _one(
    conn: Connection,
    article: Article,
    hits: Sequence[Hit],
    insert_hits: InsertHits,
    corrections: Collection[str],
) -> tuple[int | None, tuple[str, ...]]:
    assert article.revises is not None
    old = conn.execute(
        select(ArticleRow.title, ArticleRow.text, ArticleRow.story_id, ArticleRow.url).where(
            ArticleRow.id == article.revises, ArticleRow.revision == article.revision - 1
        )
    ).first()
    if old is None:  # revised meanwhile by another replica's poll, or deleted
        return None, ()
    now = utcnow()
    make = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        make.insert(_REVISIONS).on_conflict_do_nothing(),
        {
            "article_id": article.revises,
            "revision": article.revision - 1,
            "title": old.title,
            "text": old.text,
            "created_at": now,
        },
    )
    doc = article.document
    conn.execute(
        update(_ARTICLES)
        .where(_ARTICLES.c.id == article.revises)
        .values(
            title=doc.title,
            text=doc.text,
            url=article.url,
            text_source=article.text_source,
            text_note=article.text_note,
            entry_hash=article.entry_hash,
            revision=article.revision,
            updated_at=now,
            signature=pack(article.signature) if article.signature else None,
            facts=facts_json(doc.facts),
            places_index=places_index(doc.facts),
        )
    )
    fired = set(conn.scalars(select(HitRow.rule_id).where(HitRow.article_id == article.revises)))
    first_time = [hit for hit in hits if hit.rule_id not in fired]
    insert_hits(conn, [(article.revises, old.story_id, first_time, article.revision)])
    _corrections(conn, article, old.title, corrections)
    return article.revises, tuple(hit.rule_id for hit in first_time)


def _corrections(conn: Connection, article: Article, was: str, channels: Collection[str]) -> None:
    """A follow-up to each channel that asks for corrections and was sent this article."""
    if not channels:
        return
    told = conn.execute(
        select(DeliveryRow.channel, HitRow.rule_name)
        .join(HitRow, DeliveryRow.hit_id == HitRow.id)
        .where(HitRow.article_id == article.revises, DeliveryRow.status == "sent")
        .where(DeliveryRow.channel.in_(list(channels)))
    ).all()
    rules: dict[str, list[str]] = {}
    for channel, rule in told:
        rules.setdefault(channel, []).append(rule)
    if not rules:
        return
    feed = conn.scalar(select(FeedRow.name).where(FeedRow.id == article.feed_id)) or ""
    title = article.document.title
    for channel, names in rules.items():
        body = (
            f"{feed} revised an article alerted for {', '.join(sorted(set(names)))} "
            f"(revision {article.revision}).\nNow: {title}\nWas: {was}\n{article.url}"
        )
        conn.execute(
            NoticeRow.__table__.insert(),  # type: ignore[attr-defined]
            {
                "channel": channel,
                "title": f"Corrected: {title}"[:500],
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "created_at": utcnow(),
            },
        )

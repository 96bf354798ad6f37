"""Full-text candidates: the articles that contain what a search needs, from the database's
own index (SQLite FTS5 table ``articles_fts``; PostgreSQL ``articles.search``, a tsvector over
an article's first 200,000 characters), made by migration 0006 and kept current by the
database itself (a trigger since migration 0007).

The index only narrows: the matcher still decides, so the tokenisers need only agree with the
rules on letter-only words (see ``monitor.rules.prefilter``). Both fold case and ё; SQLite's
``unicode61 remove_diacritics 2`` and PostgreSQL's ``translate`` in the column strip Latin
accents as the rules do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, select, table
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from monitor.rules.prefilter import Need, Word
from monitor.store.models import ArticleRow

_FTS = table("articles_fts", column("rowid"))


def candidate_ids(session: Session, need: Need, since: datetime, limit: int) -> list[int]:
    """Ids of articles fetched since ``since`` that satisfy ``need``, newest first."""
    query = (
        select(ArticleRow.id)
        .where(ArticleRow.fetched_at >= since)
        .order_by(ArticleRow.id.desc())
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        match = sql("articles.search @@ to_tsquery('simple', :q)").bindparams(q=tsquery(need))
    else:
        query = query.join(_FTS, _FTS.c.rowid == ArticleRow.id)
        match = sql("articles_fts MATCH :q").bindparams(q=fts5_query(need))
    return list(session.scalars(query.where(match)))


def fts5_query(need: Need) -> str:
    if isinstance(need, Word):
        return f'"{need.text}"' + ("*" if need.prefix else "")
    joined = f" {need.op.upper()} ".join(fts5_query(p) for p in need.parts)
    return f"({joined})"


def tsquery(need: Need) -> str:
    if isinstance(need, Word):
        return need.text + (":*" if need.prefix else "")
    joined = (" & " if need.op == "and" else " | ").join(tsquery(p) for p in need.parts)
    return f"({joined})"

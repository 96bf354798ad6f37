"""Stories in the database: the band keys of stored articles, the stored articles a group
of new ones may report the same story as (one statement for the whole group), and the
story each new article joins, among those and the group's own earlier articles."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.sql.expression import Executable

from monitor.store.models import ArticleRow, StoryKeyRow
from monitor.stories import BANDS, similarity_to_packed

_ARTICLES = cast(Table, ArticleRow.__table__)
_STORY_KEYS = cast(Table, StoryKeyRow.__table__)
# Articles compared in full when grouping a new one: those sharing the most band keys. A
# boilerplate lead shared by thousands of articles would otherwise mean unpacking and
# comparing thousands of signatures for every article stored.
STORY_CANDIDATES = 50
Candidate = tuple[int, int | None, bytes | None]  # (article id, its story, packed signature)


@dataclass(frozen=True)
class Story:
    """The story a new article reports: a stored article's story, that of an earlier
    article of its own group (by position), or, with neither, a story of its own."""

    stored: int | None = None
    earlier: int | None = None


def _given(dialect: str, *names: str) -> Any:
    """Rows of (name, ...) bound as one value per column: arrays unnested on PostgreSQL;
    on SQLite one JSON array of rows, so the values do not go through SQLAlchemy's parameter
    processing one by one."""
    if dialect == "postgresql":
        types = {"article_id": Integer}
        columns = [bindparam(n, type_=ARRAY(types.get(n, String))) for n in names]
        return func.unnest(*columns).table_valued(*names).render_derived()
    rows = func.json_each(bindparam("rows")).table_valued("value")
    return select(
        *(func.json_extract(rows.c.value, f"$[{k}]").label(n) for k, n in enumerate(names))
    ).subquery()


def _store(dialect: str) -> Insert:
    stored = _given(dialect, "key", "article_id")
    return insert(_STORY_KEYS).from_select(
        ["key", "article_id", "created_at"],
        select(
            stored.c.key,
            stored.c.article_id,
            bindparam("now", type_=_STORY_KEYS.c.created_at.type),
        ),
    )


def _candidates_sqlite() -> Select[Any]:
    """SQLite probes the key index (which holds the article ids too: a key shared by a
    story's hundreds of outlets is not hundreds of table reads) once per given key."""
    given = _given("sqlite", "i", "key")
    ranked = (
        select(
            given.c.i,
            _STORY_KEYS.c.article_id,
            func.row_number()
            .over(
                partition_by=given.c.i,
                order_by=(func.count().desc(), _STORY_KEYS.c.article_id.desc()),
            )
            .label("rank"),
        )
        .join(_STORY_KEYS, _STORY_KEYS.c.key == given.c.key)
        .where(_STORY_KEYS.c.created_at >= bindparam("since"))
        .group_by(given.c.i, _STORY_KEYS.c.article_id)
        .subquery()
    )
    return (
        select(ranked.c.i, _ARTICLES.c.id, _ARTICLES.c.story_id, _ARTICLES.c.signature)
        .join(ranked, ranked.c.article_id == _ARTICLES.c.id)
        .where(ranked.c.rank <= STORY_CANDIDATES)
    )


# PostgreSQL without statistics (autovacuum off, or a young table) joined a thousand given
# keys to story_keys by sorting the whole table, and read the articles table once per
# article. Each LATERAL subquery with a LIMIT is planned on its own, with the plans the
# single-article look-up always had: the key index over the article's 20 keys, then the
# primary key per candidate.
_CANDIDATES_POSTGRESQL = text(
    f"""SELECT given.i - 1, top.article_id, article.story_id, article.signature
FROM generate_series(1, :n) AS given(i)
CROSS JOIN LATERAL (
    SELECT story_keys.article_id FROM story_keys
    WHERE story_keys.key = ANY((:keys)[(given.i - 1) * {BANDS} + 1 : given.i * {BANDS}])
    AND story_keys.created_at >= :since
    GROUP BY story_keys.article_id
    ORDER BY count(*) DESC, story_keys.article_id DESC
    LIMIT {STORY_CANDIDATES}
) AS top
CROSS JOIN LATERAL (
    SELECT articles.story_id, articles.signature FROM articles
    WHERE articles.id = top.article_id LIMIT 1
) AS article"""
).bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("since", type_=_STORY_KEYS.c.created_at.type),
)
_SQL: dict[str, tuple[Insert, Executable]] = {
    "postgresql": (_store("postgresql"), _CANDIDATES_POSTGRESQL),
    "sqlite": (_store("sqlite"), _candidates_sqlite()),
}


def _columns(conn: Connection, names: Sequence[str], *columns: list[Any]) -> dict[str, Any]:
    if conn.dialect.name == "postgresql":
        return dict(zip(names, columns, strict=True))
    return {"rows": json.dumps(list(zip(*columns, strict=True)))}


def store_keys(conn: Connection, keys: Sequence[tuple[int, Sequence[str]]], now: datetime) -> None:
    """The band keys of stored articles, (article id, keys) each, in one statement."""
    pairs = [(key, article) for article, own in keys for key in own]
    if pairs:
        params = _columns(conn, ("key", "article_id"), *map(list, zip(*pairs, strict=True)))
        conn.execute(_SQL[conn.dialect.name][0], params | {"now": now})


def candidates(
    conn: Connection, keys: Sequence[Sequence[str]], since: datetime
) -> list[list[Candidate]]:
    """For each article's band keys (``BANDS`` of them, or none), the stored articles
    since ``since`` sharing the most of them, in one statement."""
    keyed = [i for i, own in enumerate(keys) if own]
    found: list[list[Candidate]] = [[] for _ in keys]
    if not keyed:
        return found
    if conn.dialect.name == "postgresql":
        if any(len(keys[i]) != BANDS for i in keyed):
            raise ValueError(f"an article's band keys are {BANDS}")
        flat = [key for i in keyed for key in keys[i]]
        params: dict[str, Any] = {"n": len(keyed), "keys": flat}
    else:
        params = {"rows": json.dumps([(n, key) for n, i in enumerate(keyed) for key in keys[i]])}
    rows = conn.execute(_SQL[conn.dialect.name][1], params | {"since": since})
    for n, article, story, sig in rows:
        found[keyed[n]].append((article, story, sig))
    return found


def story_candidates(conn: Connection, keys: Sequence[str], since: datetime) -> list[Candidate]:
    """(id, story, signature) of the recent articles sharing the most of these keys."""
    return candidates(conn, [keys], since)[0]


def choose(
    packed: Sequence[bytes | None],
    keys: Sequence[Sequence[str]],
    found: Sequence[Sequence[Candidate]],
    threshold: float,
) -> list[Story]:
    """Each article's story, from its packed signature and band keys: the closest at or
    above ``threshold`` of its stored candidates and of the group's earlier articles
    sharing a key with it."""
    holders: dict[str, list[int]] = {}  # key -> earlier articles of the group holding it
    chosen = []
    for i, (sig, own) in enumerate(zip(packed, keys, strict=True)):
        if not sig:
            chosen.append(Story())
            continue
        lanes = int.from_bytes(sig, "big"), len(sig) // 8
        best, story = threshold, Story()
        for other, other_story, other_sig in found[i]:
            if other_sig and (score := similarity_to_packed(lanes, other_sig)) >= best:
                best, story = score, Story(stored=other_story or other)
        shared = Counter(j for key in own for j in holders.get(key, ()))
        for j, _ in shared.most_common(STORY_CANDIDATES):
            score = similarity_to_packed(lanes, cast(bytes, packed[j]))
            # a tie keeps the stored story: the earlier article may turn out to be stored
            # already, and then the stored story is the one it reports
            if score > best or (score == best and story.stored is None):
                best, story = score, Story(earlier=j)
        for key in own:
            holders.setdefault(key, []).append(i)
        chosen.append(story)
    return chosen

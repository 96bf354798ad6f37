"""Polls' articles matched and stored together (group commit), each poll's outcome its own:
on SQLite and PostgreSQL, with real transactions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text

from monitor.entities import Article, Document
from monitor.pipeline.storing import Stored, Storing
from monitor.rules import Matcher, compile_rules, load_rule
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.store.models import ArticleRow, DeliveryRow, HitRow
from tests.conftest import _truncate
from tests.test_repository import article, feeds

RULE = "id: troops\nname: Troop movements\nseverity: high\nnotify: [desk]\nquery: 'troop*'\n"


@dataclass(frozen=True)
class MatchedThenStored:
    """The pipeline's match stage for each article, then storing."""

    matcher: Matcher
    storing: Storing

    def polls(self, batch: list[list[Article]]) -> list[tuple[int, int] | Exception]:
        """Each poll's (new, hits), or why it failed."""
        matched = [[(a, self.matcher.match(a.document)) for a in poll] for poll in batch]
        return [_pair(stored) for stored in self.storing.polls(matched)]


def _pair(stored: Stored) -> tuple[int, int] | Exception:
    return stored if isinstance(stored, Exception) else (stored.new, stored.hits)


def storing(engine: Engine, tmp_path: Path) -> MatchedThenStored:
    (tmp_path / "troops.yaml").write_text(RULE)
    matcher = compile_rules([load_rule(tmp_path / "troops.yaml")])
    return MatchedThenStored(matcher, Storing(session_factory(engine), (3600.0, 0.5)))


def troops(feed_id: int, n: int):  # type: ignore[no-untyped-def]
    found = article(feed_id, n)
    return replace(found, document=Document(f"Troops moved {n}", "Troops at the border", "en"))


def commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda conn: counted.append(1))
    return counted


def test_polls_stored_together_share_one_transaction_and_keep_their_own_counts(
    engine: Engine, tmp_path: Path
) -> None:
    with session_factory(engine).begin() as session:
        a, b, c = repo.sync_feeds(session, feeds("a", "b", "c"))
    polls = [[troops(a.id, 1), article(a.id, 2)], [article(b.id, 3)], [troops(c.id, 4)]]
    counted = commits(engine)
    assert storing(engine, tmp_path).polls(polls) == [(2, 1), (1, 0), (1, 1)]
    assert len(counted) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ArticleRow)) == 4
        assert conn.scalar(select(func.count()).select_from(HitRow)) == 2
        assert conn.scalar(select(func.count()).select_from(DeliveryRow)) == 2
    # stored again (a poll that saw the same items): nothing new, nothing doubled
    assert storing(engine, tmp_path).polls(polls) == [(0, 0), (0, 0), (0, 0)]


def test_a_poll_whose_store_fails_fails_alone(engine: Engine, tmp_path: Path) -> None:
    """The middle poll names a feed that does not exist (a foreign-key error, not a data
    error): the group is stored again poll by poll, and only that poll fails."""
    with session_factory(engine).begin() as session:
        a, b = repo.sync_feeds(session, feeds("a", "b"))
    polls = [[troops(a.id, 1)], [troops(9999, 2)], [article(b.id, 3)]]
    counted = commits(engine)
    first, failed, last = storing(engine, tmp_path).polls(polls)
    assert (first, last) == ((1, 1), (1, 0))
    assert isinstance(failed, Exception) and "FOREIGN KEY" in str(failed).upper()
    assert len(counted) == 2  # the group's transaction rolled back; two polls committed alone
    with engine.connect() as conn:
        titles = conn.scalars(select(ArticleRow.title).order_by(ArticleRow.id))
        assert list(titles) == ["Troops moved 1", "Title 3"]


def test_an_article_refused_as_data_in_a_group_is_left_out_alone(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL refuses a guid longer than the column (a stand-in for data it refuses):
    that article alone is left out; its poll's other article and the other polls are stored."""
    engine = make_engine(postgres_url)
    _truncate(engine)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE articles ALTER COLUMN guid TYPE varchar(40)"))
    try:
        with session_factory(engine).begin() as session:
            a, b = repo.sync_feeds(session, feeds("a", "b"))
        refused = replace(troops(a.id, 1), guid="urn:" + "x" * 40)
        polls = [[article(b.id, 2)], [refused, troops(a.id, 3)], [article(b.id, 4)]]
        assert storing(engine, tmp_path).polls(polls) == [(1, 0), (1, 1), (1, 0)]
        with engine.connect() as conn:
            titles = set(conn.scalars(select(ArticleRow.title)))
        assert titles == {"Title 2", "Troops moved 3", "Title 4"}
    finally:
        _truncate(engine)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE articles ALTER COLUMN guid TYPE text"))
        engine.dispose()


@pytest.mark.parametrize("size", [1, 7])
def test_a_poll_of_any_size_is_one_result(engine: Engine, tmp_path: Path, size: int) -> None:
    with session_factory(engine).begin() as session:
        [a] = repo.sync_feeds(session, feeds("a"))
    found = storing(engine, tmp_path).polls([[troops(a.id, n) for n in range(size)]])
    assert found == [(size, size)]

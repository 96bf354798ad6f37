"""Stories in the database: candidates of a group in one statement, and the choice."""

from datetime import timedelta

from sqlalchemy import Engine, text

from monitor.store import stories as story_db
from monitor.store.models import utcnow
from monitor.store.stories import Story, candidates, choose, store_keys
from monitor.stories import BANDS, band_keys, pack
from tests.conftest import query_plan

ARTICLES = 10_000


def _series(engine: Engine, n: int) -> str:
    if engine.dialect.name == "postgresql":
        return f"generate_series(1, {n}) AS g(n)"
    return (
        f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) "
        "SELECT n FROM s) AS g"
    )


def _fill(engine: Engine, articles: int) -> None:
    """``articles`` stored articles of a few KB of text, 20 keys each (``k<id>_<band>``),
    written by SQL: the planner sees tables of a cold cycle's size (no statistics)."""
    series = _series(engine, articles)
    bands = " UNION ALL ".join(f"SELECT {b} AS b" for b in range(BANDS))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feeds (id, name, url, tags, interval_seconds, full_text, active, "
                "error_count, items_seen) VALUES (1, 'a', 'https://a.example/', '[]', 60, "
                "true, true, 0, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO articles (id, feed_id, guid, url, canonical_url, url_hash, title, "
                "text, text_source, fetched_at) SELECT n, 1, 'g' || n, 'u' || n, 'u' || n, "
                f"'h' || n, 't', 'article text ' || n || :filler, 'page', :now FROM {series}"
            ),
            {"now": utcnow(), "filler": " words" * 500},
        )
        conn.execute(
            text(
                "INSERT INTO story_keys (key, article_id, created_at) "
                f"SELECT 'k' || n || '_' || b, n, :now FROM {series}, ({bands}) AS bands"
            ),
            {"now": utcnow()},
        )


def _keys(article: int) -> list[str]:
    return [f"k{article}_{b}" for b in range(BANDS)]


def test_a_groups_candidates_read_the_key_index_and_the_primary_key(engine: Engine) -> None:
    """Without planner statistics, a group's look-up must probe the key index per article
    (or per key) and read candidates by primary key: PostgreSQL joined the thousand given
    keys to the whole story_keys table by sorting it, and scanned articles per article."""
    _fill(engine, ARTICLES)
    group = [_keys(n) for n in range(1, 51)]  # 50 articles, each sharing keys with one
    with query_plan(engine, "story_keys") as steps, engine.connect() as conn:
        found = candidates(conn, group, utcnow() - timedelta(hours=1))
    assert [[article for article, _, _ in f] for f in found] == [[n] for n in range(1, 51)]
    plan = "\n".join(steps)
    if engine.dialect.name == "sqlite":
        assert "SEARCH story_keys USING COVERING INDEX ix_story_keys_lookup" in plan, plan
        assert "SEARCH articles USING INTEGER PRIMARY KEY" in plan, plan
    else:
        assert "Index Scan on ix_story_keys_lookup" in plan, plan
        assert "Index Scan using articles_pkey on articles" in plan, plan
    assert "Seq Scan" not in plan and "SCAN story_keys" not in plan, plan


def test_each_article_gets_its_own_candidates_most_shared_first(engine: Engine) -> None:
    """Candidates by article, within the window; an article without keys has none."""
    _fill(engine, 3)
    with engine.begin() as conn:  # article 3's keys written long ago: outside the window
        conn.execute(
            text("UPDATE story_keys SET created_at = :old WHERE article_id = 3"),
            {"old": utcnow() - timedelta(days=2)},
        )
    mixed = _keys(1)[:17] + _keys(2)[:3]  # 17 keys shared with article 1, 3 with article 2
    group = [mixed, [f"x{b}" for b in range(BANDS)], [], _keys(3)]
    with engine.connect() as conn:
        found = candidates(conn, group, utcnow() - timedelta(hours=1))
        alone = story_db.story_candidates(conn, mixed, utcnow() - timedelta(hours=1))
    assert [[a for a, _, _ in f] for f in found] == [[1, 2], [], [], []]
    assert [a for a, _, _ in alone] == [1, 2]


def test_stored_keys_are_found_again(engine: Engine) -> None:
    _fill(engine, 2)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM story_keys"))
        store_keys(conn, [(1, ["a", "b"]), (2, ["b", "c"])], utcnow())
        rows = {tuple(r) for r in conn.execute(text("SELECT key, article_id FROM story_keys"))}
    assert rows == {("a", 1), ("b", 1), ("b", 2), ("c", 2)}


def _sig(start: int, same: int = 60) -> tuple[int, ...]:
    """A signature agreeing with ``_sig(0)`` on its first ``same`` values."""
    return tuple(range(same)) + tuple(range(start, start + 60 - same))


def test_choose_takes_the_closest_of_stored_and_earlier_articles() -> None:
    sigs = [_sig(1000), _sig(2000, same=50), _sig(3000, same=20), None]
    packed = [pack(s) if s else None for s in sigs]
    keys = [band_keys(s) if s else [] for s in sigs]
    stored = [(7, 5, pack(_sig(4000, same=40)))]  # article 7 of story 5: 40 of 60 agree
    found = [stored, stored, stored, []]
    chosen = choose(packed, keys, found, 0.5)
    # the first article joins stored story 5 (0.67); the second is closer to the first
    # (50 of 60) than to story 5; the third is close to none; no signature: its own
    assert chosen == [Story(stored=5), Story(earlier=0), Story(), Story()]
    alone = choose([packed[2]], [keys[2]], [[]], 0.5)
    assert alone == [Story()]


def test_a_tie_between_a_stored_story_and_an_earlier_article_keeps_the_stored_one() -> None:
    """The earlier article may be refused as already stored; the stored story holds."""
    sig = _sig(1000)
    packed, keys = [pack(sig)] * 2, [band_keys(sig)] * 2
    found = [[(3, None, pack(sig))], [(3, None, pack(sig))]]
    assert choose(packed, keys, found, 0.5) == [Story(stored=3), Story(stored=3)]
    assert choose(packed, keys, [[], []], 0.5) == [Story(), Story(earlier=0)]

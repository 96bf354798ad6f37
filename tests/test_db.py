from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text

from monitor.config import FeedConfig
from monitor.entities import Article, Document, Hit, Severity
from monitor.errors import StoreError
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.stories import band_keys
from tests.conftest import downgrade


def test_upgrade_creates_every_table_and_is_repeatable(engine) -> None:  # type: ignore[no-untyped-def]
    upgrade(engine)  # a second time is a no-op
    names = set(inspect(engine).get_table_names())
    assert {"feeds", "articles", "hits", "deliveries", "alembic_version"} <= names
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0015"


def test_sqlite_runs_in_wal_mode_with_busy_timeout_journals_in_memory_and_a_larger_cache(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY
        assert conn.execute(text("PRAGMA cache_size")).scalar() == -32 * 1024  # KiB
    engine.dispose()


def test_unknown_database_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="MONITOR_DATABASE_URL 'nosuchdb://x'"):
        make_engine("nosuchdb://x")


def test_unreachable_database_names_url_without_password() -> None:
    engine = make_engine("postgresql+psycopg://user:secret@127.0.0.1:9/db")
    with pytest.raises(StoreError) as err:
        upgrade(engine)
    assert "secret" not in str(err.value) and "127.0.0.1:9" in str(err.value)


def test_a_groups_story_keys_go_in_one_statement_with_the_keys_as_one_value(engine) -> None:  # type: ignore[no-untyped-def]
    """The 20 story keys of each article of a group reach the database as one INSERT whose
    keys and articles are one bound value each (arrays, or one JSON array on SQLite), not
    a row of bound values per key: binding each row's values was most of what storing the
    keys cost the service."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO story_keys"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    sigs = [tuple(range(n, n + 60)) for n in (0, 1000, 2000)]
    with session_factory(engine).begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="a")])
        articles = [
            Article(
                feed_id=feed.id,
                guid=f"g{n}",
                url=f"https://e.org/{n}",
                canonical_url=f"https://e.org/{n}",
                document=Document("Title", "Body", "en"),
                text_source="page",
                text_note=None,
                published=None,
                signature=sig,
            )
            for n, sig in enumerate(sigs)
        ]
        ids = repo.store_articles(s, [(a, []) for a in articles])
        stored = s.execute(text("SELECT key, article_id FROM story_keys")).all()
    expected = {(key, i) for i, sig in zip(ids, sigs, strict=True) for key in band_keys(sig)}
    assert len(stored) == len(expected) == 60 and set(stored) == expected
    [(_, parameters)] = sent
    # the keys and articles (one JSON array on SQLite, with its two paths), the time
    assert len(parameters) == (3 if engine.dialect.name == "postgresql" else 4)  # type: ignore[arg-type]


def test_deliveries_stored_before_0009_get_their_story_and_rule(engine) -> None:  # type: ignore[no-untyped-def]
    """Migration 0009 copies each delivery's story and rule from its article and hit, so
    the outbox's story look-up finds deliveries stored before it (and their articles'
    stories, the first article's id when the story was never set)."""
    hit = Hit("r1", "Rule one", Severity.high, 1.0, (), ("desk",))
    with session_factory(engine).begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="a")])
        for n in (1, 2):
            doc = Document(f"Title {n}", "Body", "en")
            url = f"https://e.org/{n}"
            stored = Article(feed.id, f"g{n}", url, url, doc, "page", None, None, tuple(range(60)))
            repo.store_article(s, stored, [hit])
    with engine.begin() as conn:
        downgrade(conn, "0008")
        conn.execute(text("UPDATE articles SET story_id = NULL WHERE guid = 'g1'"))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.guid, d.story_id, a.id, d.rule_id FROM deliveries d "
                "JOIN hits h ON h.id = d.hit_id JOIN articles a ON a.id = h.article_id "
                "ORDER BY a.guid"
            )
        ).all()
    [(_, first_story, first_id, first_rule), (_, second_story, _, second_rule)] = rows
    assert first_story == first_id and second_story == first_id  # one story, the first's
    assert first_rule == second_rule == "r1"


def test_processes_upgrading_an_empty_database_together_take_turns(postgres_url: str) -> None:
    """What `docker compose up` does the first time: two processes on an empty database."""
    import subprocess
    import sys

    from sqlalchemy import text as sql

    from monitor.store.db import current, head, make_engine

    engine = make_engine(postgres_url)
    with engine.begin() as conn:  # the fixture's database, emptied
        conn.execute(sql("DROP SCHEMA public CASCADE"))
        conn.execute(sql("CREATE SCHEMA public"))
    code = (
        "import sys; from monitor.store.db import make_engine, upgrade; "
        "print(upgrade(make_engine(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [(p.wait(120), p.stdout.read() if p.stdout else "") for p in procs]
    assert [status for status, _ in results] == [0, 0, 0], results
    outputs = sorted(out.strip() for _, out in results)
    assert outputs == sorted(
        [f"(None, '{head()}')", f"('{head()}', '{head()}')", f"('{head()}', '{head()}')"]
    )
    assert current(engine) == head()
    engine.dispose()


def test_a_database_of_the_previous_schema_is_upgraded_in_place_and_nothing_realerts(
    database_url: str, tmp_path: Path
) -> None:
    """Articles stored before 0011 (their url_hash the canonical URL's, no fingerprints)
    are kept whole; their feeds read again, nothing is stored twice or alerted again."""
    from monitor.feeds.urls import url_hash
    from tests.servers import http_server
    from tests.site import news_site
    from tests.test_cli import monitor, service_env

    with news_site() as site, http_server() as hook:
        env = service_env(
            site.feeds_yaml(tmp_path / "f.yaml", broken=False), database_url, hook.port
        )
        assert monitor("run", "--once", env=env).returncode == 0
        sent = hook.posted_json()
        engine = make_engine(database_url)
        with engine.begin() as conn:
            downgrade(conn, "0010")
            stored = conn.execute(text("SELECT id, canonical_url FROM articles")).all()
            for article_id, canonical in stored:  # as the code of 0010 wrote it
                conn.execute(
                    text("UPDATE articles SET url_hash = :h WHERE id = :i"),
                    {"h": url_hash(canonical), "i": article_id},
                )
            # the feeds are read again, not answered 304 or skipped as unchanged
            conn.execute(
                text(
                    "UPDATE feeds SET etag = NULL, last_modified = NULL, "
                    "content_hash = NULL, next_check_at = NULL"
                )
            )
            before = conn.execute(text("SELECT id, guid, title, text FROM articles")).all()
        again = monitor("run", "--once", env=env)
        assert again.returncode == 0, again.stderr
        assert hook.posted_json() == sent  # nothing alerted again
    with engine.connect() as conn:
        after = conn.execute(text("SELECT id, guid, title, text FROM articles")).all()
        upgraded = conn.execute(
            text("SELECT entry_hash, revision, link_hash, url_hash FROM articles")
        ).all()
        assert conn.execute(text("SELECT count(*) FROM article_revisions")).scalar() == 0
    engine.dispose()
    assert sorted(after) == sorted(before) and len(before) >= 5
    assert "0 new articles, 0 hits" in again.stderr
    assert all(revision == 1 for _, revision, _, _ in upgraded)
    web = [(link, key) for _, _, link, key in upgraded if link is not None]
    assert web and all(link == key for link, key in web)  # the old canonical-URL hashes
    assert all(entry is not None for entry, _, link, _ in upgraded if link)  # now known

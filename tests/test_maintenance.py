from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from monitor.config import FeedConfig
from monitor.entities import Article, Document, Evidence, Hit, Severity
from monitor.store import repository as repo
from monitor.store.db import session_factory
from monitor.store.maintenance import claim_job, prune, run_retention, stats
from monitor.store.models import ArticleRow, HitRow, StoryMessageRow


def seed(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="A")])
        for n in range(3):
            art = Article(
                feed.id,
                f"g{n}",
                f"https://e.org/{n}",
                f"https://e.org/{n}",
                Document(f"Troops {n}", "Long article text " * 20),
                "page",
                None,
                None,
                (n, n + 1, n + 2),
            )
            hit = Hit(
                "r",
                "R",
                Severity.high,
                1.0,
                (Evidence("troop*", "title", f"Troops {n}"),),
                ("desk",),
            )
            repo.store_article(s, art, [hit])
        s.execute(
            update(ArticleRow)
            .where(ArticleRow.guid == "g0")
            .values(fetched_at=datetime.now(UTC) - timedelta(days=100))
        )


def test_retention_drops_old_text_but_keeps_hits_and_evidence(engine: Engine) -> None:
    seed(engine)
    sessions = session_factory(engine)
    old, fresh = datetime.now(UTC) - timedelta(days=100), datetime.now(UTC)
    with sessions.begin() as s:  # what channels were told of an old and a new story
        for story, when in ((1, old), (2, fresh)):
            s.add(
                StoryMessageRow(
                    story_id=story,
                    channel="desk",
                    status="sent",
                    severity=3,
                    rules=[],
                    figures={},
                    outlets=1,
                    languages=1,
                    sent_at=when,
                    followups=0,
                )
            )
    with sessions.begin() as s:
        assert prune(s, datetime.now(UTC) - timedelta(days=90)) == 1
        assert s.scalars(select(StoryMessageRow.story_id)).all() == [2]
    with sessions() as s:
        texts = dict(s.execute(select(ArticleRow.guid, ArticleRow.text)).all())
        evidence = s.scalars(select(HitRow.evidence)).all()
        found = stats(s)
    assert texts["g0"] == "" and texts["g1"].startswith("Long article")
    assert len(evidence) == 3 and evidence[0][0]["snippet"].startswith("Troops")
    assert found.rows["articles"] == 3 and found.rows["hits"] == 3
    assert found.articles_with_text == 2 and found.text_bytes == 2 * len("Long article text " * 20)
    assert found.deliveries == {"pending": 3}
    assert found.database_bytes and found.database_bytes > 0


def test_periodic_jobs_run_once_per_slot(engine: Engine) -> None:
    seed(engine)
    sessions = session_factory(engine)
    slot = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    with sessions.begin() as s:
        assert claim_job(s, "other", slot) and not claim_job(s, "other", slot)
    assert run_retention(sessions, 90, datetime.now(UTC)) == 1
    again = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    assert run_retention(sessions, 90, again) == 0  # nothing left to drop
    assert run_retention(sessions, 90, again) is None  # that slot already ran

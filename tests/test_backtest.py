from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import FeedConfig
from monitor.entities import Article, Document
from monitor.rules import load_rule
from monitor.rules.backtest import backtest
from monitor.store import repository as repo
from monitor.store.db import session_factory

TITLES = ["Troops massed near Brest", "Brigade moved north", "Library opens", "Tanks massed"]


def store(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, [FeedConfig(url="https://a.example/rss", name="A")])
        for n, title in enumerate(TITLES):
            art = Article(
                feed.id,
                f"g{n}",
                f"https://e.org/{n}",
                f"https://e.org/{n}",
                Document(title, ""),
                "page",
                None,
                None,
            )
            repo.store_article(s, art, [])


def rule(tmp_path: Path, name: str, terms: str) -> Path:
    path = tmp_path / name
    path.write_text(f"id: moves\nname: Moves\nseverity: low\nmatch: {{any: [{terms}]}}\n", "utf-8")
    return path


def test_backtest_counts_samples_and_diffs_against_live(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store(engine)
    live = load_rule(rule(tmp_path, "live.yaml", "troop*, brigade*"))
    edited = load_rule(rule(tmp_path, "edited.yaml", "troop*, massed"))
    with session_factory(engine)() as s:
        since = datetime.now(UTC) - timedelta(days=1)
        assert repo.count_articles(s, since) == 4
        report = backtest(repo.iter_articles(s, since, batch=2), edited, live, sample=5)
    assert (report.articles, report.hits, report.live_hits) == (4, 2, 2)
    assert [x.article.title for x in report.sample] == ["Tanks massed", "Troops massed near Brest"]
    assert report.sample[0].evidence[0].term == "massed"
    assert (report.added_count, report.lost_count) == (1, 1)
    assert [x.article.title for x in report.added] == ["Tanks massed"]
    assert [a.title for a in report.lost] == ["Brigade moved north"]


def test_backtest_lists_near_misses_with_why_not(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store(engine)
    path = tmp_path / "r.yaml"
    path.write_text("id: brest\nname: B\nseverity: low\nmatch: {all: [massed, brest]}\n", "utf-8")
    with session_factory(engine)() as s:
        since = datetime.now(UTC) - timedelta(days=1)
        report = backtest(repo.iter_articles(s, since), load_rule(path), None, sample=5)
    assert report.hits == 1  # Troops massed near Brest
    assert report.near_miss_count == 1  # Tanks massed: "massed" but no Brest
    [(article, reasons)] = report.near_misses
    assert article.title == "Tanks massed" and reasons == ("'brest' not found",)


def test_old_articles_are_outside_the_window(engine) -> None:  # type: ignore[no-untyped-def]
    store(engine)
    with session_factory(engine)() as s:
        assert repo.count_articles(s, datetime.now(UTC) + timedelta(minutes=1)) == 0
        assert list(repo.iter_articles(s, datetime.now(UTC) + timedelta(minutes=1))) == []


def test_backtest_counts_stories_as_the_desk_gets_them(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A hit the edit adds on another report of a story the live rule already fires on is
    no new story for the desk; a story only the live rule had is lost."""
    from sqlalchemy import update

    from monitor.store.models import ArticleRow

    store(engine)
    with session_factory(engine).begin() as s:  # "Tanks massed" reports the troops' story
        s.execute(update(ArticleRow).where(ArticleRow.guid == "g3").values(story_id=1))
    live = load_rule(rule(tmp_path, "live.yaml", "troop*, brigade*"))
    edited = load_rule(rule(tmp_path, "edited.yaml", "troop*, massed"))
    with session_factory(engine)() as s:
        since = datetime.now(UTC) - timedelta(days=1)
        report = backtest(repo.iter_articles(s, since), edited, live, sample=5)
    assert report.added_count == 1 and report.stories_added == 0
    assert (len(report.stories), len(report.live_stories), report.stories_lost) == (1, 2, 1)

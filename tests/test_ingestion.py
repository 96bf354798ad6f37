"""What outlets really publish, through ``monitor run --once`` twice, on SQLite and
PostgreSQL: no story lost, merged with another, alerted twice or stored as mojibake, and
what was kept less than offered counted on the feed's health."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor.store.db import make_engine
from monitor.store.models import ArticleRow, FeedRow, HitRow, RevisionRow, SightingRow
from tests.outlets import KOI8_TITLE, TROOPS_RU, UK_TITLE, UPDATED, outlets
from tests.servers import http_server
from tests.test_cli import monitor

RULE = """id: forces
name: Forces on the move
severity: high
notify: [default]
query: 'troop* OR brigade* OR battalion* OR войск* OR військ*'
"""


Rows = tuple[dict[str, list[Any]], dict[str, Any], list[Any], list[Any], list[Any]]


def rows(database_url: str) -> Rows:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            feeds = {f.id: f for f in conn.execute(select(FeedRow))}
            by_feed: dict[str, list[Any]] = {f.name: [] for f in feeds.values()}
            for a in conn.execute(select(ArticleRow).order_by(ArticleRow.id)):
                by_feed[feeds[a.feed_id].name].append(a)
            hits = list(conn.execute(select(HitRow)))
            sightings = list(conn.execute(select(SightingRow)))
            revisions = list(conn.execute(select(RevisionRow)))
            named = {f.name: f for f in feeds.values()}
    finally:
        engine.dispose()
    return by_feed, named, hits, sightings, revisions


def test_what_outlets_publish_is_read_identified_revised_and_counted(
    database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "forces.yaml").write_text(RULE, encoding="utf-8")
    # The outlets' items are dated 2024 and several report one event: this test is about
    # reading them, so each is alerted on its own (stories: tests/test_news_day.py).
    settings = tmp_path / "monitor.yaml"
    settings.write_text(
        "channels:\n  default: {catch_up_after: 0}\nstories: {embedder: 'off'}\n", "utf-8"
    )
    with outlets() as site, http_server() as hook:
        env = {
            "MONITOR_CONFIG": str(settings),
            "MONITOR_DATABASE_URL": database_url,
            "MONITOR_FEEDS": str(site.feeds_yaml(tmp_path / "feeds.yaml")),
            "MONITOR_RULES": str(rules),
            "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/hook",
        }
        first = monitor("run", "--once", env=env)
        alerted = [a["title"] for a in hook.posted_json()]
        site.second_edition()
        second = monitor("run", "--once", env=env)
        later = [a["title"] for a in hook.posted_json()][len(alerted) :]
        health = monitor("feeds", "health", env=env)
        url = site.web.url
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    by_feed, feeds, hits, sightings, revisions = rows(database_url)
    titles = {name: [a.title for a in found] for name, found in by_feed.items()}

    # charsets: declared only in the header, nowhere (guessed), UTF-16 with a BOM
    assert titles["Cp1251"] == [TROOPS_RU] and titles["Koi8"] == [KOI8_TITLE]
    assert titles["Utf16"] == [UK_TITLE]
    # every feed says `language: en`; each article's own language is stored
    languages = {name: {a.language for a in found} for name, found in by_feed.items() if found}
    assert languages["Cp1251"] == languages["Koi8"] == {"ru"} and languages["Utf16"] == {"uk"}
    assert languages["Json"] == languages["Daily"] == {"en"}
    assert "Около 30 тысяч военных" in by_feed["Koi8"][0].text
    assert feeds["Koi8"].last_warning.startswith("charset guessed: koi8-r")
    assert feeds["Koi8"].tally_charset_guessed == 1 and feeds["Cp1251"].tally_charset_guessed == 0
    # a Moscow time is three hours ahead of UTC
    published = by_feed["Cp1251"][0].published_at
    assert published.astimezone(UTC) == datetime(2024, 6, 22, 7, 0, tzinfo=UTC)
    # JSON Feed, relative links made absolute
    assert titles["Json"] == ["Battalion deployed to Brest", "Weather"]
    assert by_feed["Json"][0].url == url("/j/1")
    # identity: a live blog's posts, press releases sharing a link, opaque guids of two feeds
    assert titles["Live"] == [f"Live: update {n}" for n in (1, 2, 3, 4)]
    assert {a.guid for a in by_feed["Live"]} == {url(f"/live#post-{n}") for n in (1, 2, 3, 4)}
    assert "bridge 2" in by_feed["Live"][1].text  # its own text, not the whole page's
    assert len(titles["Press"]) == 2 and len(titles["Opaque A"]) == len(titles["Opaque B"]) == 2
    # a media title; an item no client could follow is skipped and counted
    assert titles["Media"] == ["Drone footage of the column"]
    assert feeds["Media"].tally_skipped == 1
    # redirects: stored under the final URL; an aggregator's link under the publisher's
    final = next(a for a in by_feed["Aggregator"] if a.guid == "rd-1")
    assert final.url == url("/a/final") and final.text_source == "page"
    unresolved = next(a for a in by_feed["Aggregator"] if a.guid == "gn-2")
    assert "does not carry the publisher's URL" in (unresolved.text_note or "")
    assert unresolved.text.startswith("Troops were deployed") and "Opening" not in unresolved.text
    assert feeds["Aggregator"].tally_links_unresolved == 1
    # the same article from two feeds (a tracking link, a Google News link): one article
    brigades = by_feed["Daily"] + [a for a in by_feed["Aggregator"] if a.guid == "gn-1"]
    assert len(brigades) == 1
    assert feeds["Daily"].tally_merged + feeds["Aggregator"].tally_merged == 1
    # an update: a new revision, matched again, alerted as an update; the re-publication
    # under a tracking link and a new guid is counted, not stored or alerted
    [updated] = by_feed["Updates"]
    assert (updated.title, updated.revision) == (UPDATED, 2)
    assert feeds["Updates"].tally_revised == 1 and feeds["Updates"].tally_republished == 1
    [update_hit] = [h for h in hits if h.article_id == updated.id]
    assert update_hit.revision == 2

    assert not any(UPDATED in t for t in alerted)
    assert f"[high] Forces on the move: update: {UPDATED}" in later
    for headline in (TROOPS_RU, KOI8_TITLE, UK_TITLE, "Battalion deployed to Brest"):
        assert f"[high] Forces on the move: {headline}" in alerted
    everything = alerted + later
    assert len(everything) == len(set(everything))  # nothing alerted twice
    assert sum("Brigades moved" in t for t in everything) == 1
    assert "counted: 1 charset guessed" in health.stdout
    assert "counted: 1 republished, 1 revised" in health.stdout
    # the text an update replaced is kept; where an article was seen again, and why
    assert [(r.article_id, r.revision, r.title) for r in revisions] == [
        (updated.id, 1, "Russia moves trucks near Kursk")
    ]
    assert sorted(s.reason for s in sightings) == ["merged", "republished"]


def test_what_was_kept_less_is_counted_in_metrics_too(tmp_path: Path) -> None:
    """The same counts, in-process, in /metrics' registry."""
    import asyncio

    from monitor import metrics
    from monitor.config import Config
    from monitor.service.app import open_services
    from monitor.service.cycle import run_cycle
    from monitor.store import repository as repo

    def counted(kind: str) -> float:
        return metrics.REGISTRY.get_sample_value("monitor_feed_tallies_total", {"kind": kind}) or 0

    before = {kind: counted(kind) for kind in ("skipped", "charset_guessed", "links_unresolved")}
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "forces.yaml").write_text(RULE, encoding="utf-8")
    with outlets() as site:
        config = Config(
            database_url=f"sqlite:///{tmp_path / 'm.db'}",
            feeds_path=site.feeds_yaml(tmp_path / "feeds.yaml"),
            rules_dir=rules,
        )

        async def go() -> None:
            async with open_services(config, lambda *_: None) as app:
                with app.services.sessions() as s:
                    feeds = repo.active_feeds(s)
                await run_cycle(app, feeds)

        asyncio.run(go())
    after = {kind: counted(kind) - before[kind] for kind in before}
    assert after == {"skipped": 1, "charset_guessed": 1, "links_unresolved": 1}

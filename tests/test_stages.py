"""The per-article stages: their declared order, where each kind runs, and a new stage
being a function and a list entry."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import Config
from monitor.entities import FeedEntry
from monitor.pipeline import STAGES, Draft, Services, Stage
from monitor.pipeline.poll import run_stages
from monitor.pipeline.stages import draft
from monitor.service.app import open_services
from monitor.store import repository as repo


def test_the_stages_run_in_the_declared_order() -> None:
    assert [(s.name, s.where) for s in STAGES] == [
        ("page", "loop"),
        ("extract", "loop"),
        ("sign", "loop"),
        ("language", "cpu"),
        ("understand", "cpu"),
        ("match", "cpu"),
        ("stories", "cpu"),
    ]


def config(tmp_path: Path) -> Config:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: F, url: 'http://127.0.0.1:9/rss', full_text: false}\n", "utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "t.yaml").write_text("name: T\nseverity: low\nquery: 'troop*'\n")
    return Config(
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        feeds_path=feeds,
        rules_dir=tmp_path / "rules",
    )


def entries(n: int) -> list[FeedEntry]:
    return [
        FeedEntry(f"g{i}", f"https://e.example/{i}", f"Troops {i}", "Body", datetime.now(UTC))
        for i in range(n)
    ]


def test_without_a_page_the_feed_text_is_signed_and_matched(tmp_path: Path) -> None:
    async def go() -> list[Draft]:
        async with open_services(config(tmp_path), print) as app:
            with app.services.sessions() as s:
                [feed] = repo.active_feeds(s)
            return await run_stages(app.services, STAGES, [draft(feed, e) for e in entries(3)])

    drafts = asyncio.run(go())
    assert [d.article.guid for d in drafts if d.article] == ["g0", "g1", "g2"]
    assert all(
        d.article and d.article.signature and d.article.text_source == "feed" for d in drafts
    )
    assert [[h.rule_id for h in d.hits] for d in drafts] == [["t"], ["t"], ["t"]]


def test_a_new_stage_is_a_function_and_a_list_entry(tmp_path: Path) -> None:
    """A cpu stage appended to the list runs after match, for every article, on the CPU
    thread; a loop stage put first runs on the event loop before the page is fetched."""
    seen: list[tuple[str, str]] = []

    async def tag_title(svc: Services, d: Draft) -> Draft:
        seen.append(("loop", threading.current_thread().name))
        return replace(d, title=d.title + " [tagged]")

    def count_hits(svc: Services, d: Draft) -> Draft:
        seen.append(("cpu", threading.current_thread().name))
        assert d.hits, "runs after match"
        return replace(d, text=f"{d.text} ({len(d.hits)} hits)")

    stages = (Stage("tag", "loop", tag_title), *STAGES, Stage("count", "cpu", count_hits))

    async def go() -> list[Draft]:
        async with open_services(config(tmp_path), print) as app:
            with app.services.sessions() as s:
                [feed] = repo.active_feeds(s)
            return await run_stages(app.services, stages, [draft(feed, e) for e in entries(2)])

    drafts = asyncio.run(go())
    assert [d.article.document.title for d in drafts if d.article] == [
        "Troops 0 [tagged]",
        "Troops 1 [tagged]",
    ]
    assert [d.text for d in drafts] == ["Body (1 hits)", "Body (1 hits)"]
    assert sorted(seen) == [
        ("cpu", "cpu_0"),
        ("cpu", "cpu_0"),
        ("loop", "MainThread"),
        ("loop", "MainThread"),
    ]

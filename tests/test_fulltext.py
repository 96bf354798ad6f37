"""The database's full-text index (migration 0006) on SQLite and PostgreSQL: it folds what the
rules fold, follows edits and retention, and a search through it finds exactly what a scan of
every article with the matcher finds."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from monitor.config import FeedConfig
from monitor.entities import Article, Document
from monitor.rules import Rule, compile_rules, load_rules
from monitor.rules.build import rule_from_file
from monitor.rules.model import RuleFile
from monitor.rules.prefilter import Join, Need, Word, prefilter
from monitor.store import repository as repo
from monitor.store.db import MIGRATIONS_DIR, make_engine, session_factory, upgrade
from monitor.store.fulltext import candidate_ids, fts5_query, tsquery
from monitor.store.maintenance import prune
from monitor.web.search import search
from tests.conftest import REPO, _truncate, downgrade

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def wire(session: Session) -> int:
    [feed] = repo.sync_feeds(session, [FeedConfig(url="https://wire.example/rss", name="Wire")])
    return feed.id


def store(session: Session, docs: list[Document], feed_id: int | None = None) -> list[int]:
    feed_id = wire(session) if feed_id is None else feed_id
    ids = []
    for n, doc in enumerate(docs):
        url = f"https://wire.example/a/{n}"
        article = Article(feed_id, f"g{n}", url, url, doc, "page", None, None)
        article_id = repo.store_article(session, article, [])
        assert article_id is not None
        ids.append(article_id)
    return ids


def find(session: Session, need: Need) -> set[int]:
    return set(candidate_ids(session, need, EPOCH, 1000))


def test_query_rendering() -> None:
    need = Join("and", (Word("troops"), Join("or", (Word("арм", True), Word("військ", True)))))
    assert fts5_query(need) == '("troops" AND ("арм"* OR "військ"*))'
    assert tsquery(need) == "(troops & (арм:* | військ:*))"


def test_index_folds_case_yo_accents_stress_and_apostrophes(engine: Engine) -> None:
    docs = [
        Document("Café near the border", "Soldiers at the CAFÉ."),
        Document("Новогодняя Ёлка", "Солда́ты прибыли к границе."),
        Document("Мобілізація", "Обов’язок служити, сказав він."),
        Document("Weather", "Sunny and warm."),
    ]
    with session_factory(engine).begin() as s:
        cafe, yolka, uk, weather = store(s, docs)
        assert find(s, Word("cafe")) == {cafe}
        assert find(s, Word("елка")) == {yolka}
        assert find(s, Word("солдаты")) == {yolka}  # a stress mark inside the word
        assert find(s, Join("and", (Word("обов"), Word("язок")))) == {uk}
        assert find(s, Word("мобіліз", True)) == {uk}
        assert find(s, Join("or", (Word("sunny"), Word("cafe")))) == {cafe, weather}
        assert find(s, Word("tanks")) == set()


def test_index_follows_edits_and_retention(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [old] = store(s, [Document("Border report", "Armour moved towards Brest.")])
    with sessions.begin() as s:
        assert find(s, Word("brest")) == {old}
        assert prune(s, datetime.now(UTC) + timedelta(days=1)) == 1
    with sessions.begin() as s:
        assert find(s, Word("brest")) == set()  # the text is gone from the index too
        assert find(s, Word("border")) == {old}  # the title stays


def test_search_through_the_index_finds_what_a_full_scan_finds(engine: Engine) -> None:
    items: list[dict[str, Any]] = yaml.safe_load((REPO / "tests/eval/articles.yaml").read_text())
    docs = [Document(i["title"], i["text"], i["lang"], feed="Wire") for i in items]
    rules = load_rules(REPO / "rules").rules
    with session_factory(engine).begin() as s:
        ids = store(s, docs)
        for rule in rules:
            need = prefilter(rule.match)
            assert need is not None
            matcher = compile_rules([rule])
            fired = {i for i, d in zip(ids, docs, strict=True) if matcher.match(d)}
            candidates = find(s, need)
            assert fired and fired <= candidates, rule.id
            assert len(candidates) < len(ids), f"{rule.id}: the index narrowed nothing"
        for query in ["troop* NEAR/4 Belarus", "військ* OR войск*", "border AND NOT Ukraine"]:
            matcher = compile_rules([_rule(query)])
            expected = {i for i, d in zip(ids, docs, strict=True) if matcher.match(d)}
            assert expected
            assert set(search(s, query, None)) == expected, query


def _rule(query: str) -> Rule:
    spec = {"name": "q", "severity": "info", "query": query}
    return rule_from_file(RuleFile.model_validate(spec), "q")


@pytest.mark.parametrize("query", [r"re:/brest/", r"re:/x/ OR brest"])
def test_a_query_the_index_cannot_answer_still_finds_by_scanning(
    engine: Engine, query: str
) -> None:
    with session_factory(engine).begin() as s:
        brest, _ = store(s, [Document("Brest", "Armour."), Document("Weather", "Sunny.")])
        assert search(s, query, None) == (brest,)


def test_postgresql_index_holds_what_the_translate_of_migration_0006_held(
    postgres_url: str,
) -> None:
    """Migration 0007 folds only the words that need it; the vectors must not change."""
    spec = importlib.util.spec_from_file_location(
        "m0006", MIGRATIONS_DIR / "versions/0006_fulltext.py"
    )
    assert spec and spec.loader
    m0006 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0006)
    source, target = m0006._pg_folding()
    docs = [
        Document(
            "Café «Zürich», Jean-Pierre Lé", "Ёлка\tи ёж.\n\nSoldáty  at Łódź; Ärzte\r\nŒuvre."
        ),
        Document("Новогодняя Ёлка", "Солда́ты прибыли к границе, й ї є. https://x.example/é?q=ü"),
        Document("Plain English", "Troops moved towards the border, officials said."),
        Document("", "  leading and trailing blanks  \u00a0 àé  "),
    ]
    engine = make_engine(postgres_url)
    _truncate(engine)
    try:
        with session_factory(engine).begin() as s:
            store(s, docs)
            old = (
                "to_tsvector('simple', translate(left(coalesce(title, '') || ' ' || "
                "coalesce(text, ''), 200000), :source, :target))"
            )
            rows = s.execute(
                text(f"SELECT title, search = {old}, search::text FROM articles"),
                {"source": source, "target": target},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == len(docs)
    for title, same, vector in rows:
        assert same, (title, vector)


def test_migration_0006_downgrades_and_rebuilds_the_index_for_stored_articles(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:  # the feed row is written by today's model, then kept
        feed_id = wire(s)
    with engine.begin() as conn:
        downgrade(conn, "0005")
        stored = conn.execute(  # as the code of that schema stored it
            text(
                "INSERT INTO articles (feed_id, guid, url, canonical_url, url_hash, title, "
                "text, text_source, fetched_at) VALUES (:f, 'g0', 'https://wire.example/a', "
                "'https://wire.example/a', 'h0', 'Ёлка у границы', 'Армия.', 'page', "
                ":now) RETURNING id"
            ),
            {"f": feed_id, "now": datetime.now(UTC).replace(tzinfo=None)},
        ).scalar_one()
    upgrade(engine)
    with sessions.begin() as s:
        assert find(s, Word("елка")) == {stored}  # indexed by the upgrade, not by a trigger

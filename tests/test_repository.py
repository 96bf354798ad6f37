from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.exc import OperationalError

from monitor.config import FeedConfig
from monitor.entities import Article, Document, Evidence, Hit, Severity
from monitor.store import repository as repo
from monitor.store import story_messages
from monitor.store.db import make_engine, session_factory
from monitor.store.models import (
    ArticleRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    SightingRow,
    StoryMessageRow,
)
from tests.conftest import _truncate, query_plan


def feeds(*names: str) -> list[FeedConfig]:
    return [FeedConfig(url=f"https://{n}.example/rss", name=n) for n in names]


def article(feed_id: int, n: int, url: str | None = None) -> Article:
    link = url or f"https://e.org/story/{n}"
    return Article(
        feed_id=feed_id,
        guid=f"g{n}",
        url=link,
        canonical_url=link,
        document=Document(f"Title {n}", "Body", "en"),
        text_source="page",
        text_note=None,
        published=datetime(2026, 11, 20, tzinfo=UTC),
    )


HIT = Hit(
    "r1",
    "Rule one",
    Severity.high,
    2.0,
    (Evidence("troop*", "text", "…troops moved…"),),
    ("desk", "email"),
)
HIT2 = replace(HIT, rule_id="r2")


def test_sync_feeds_adds_updates_and_deactivates(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        assert [f.name for f in repo.sync_feeds(s, feeds("a", "b"))] == ["a", "b"]
    with sessions.begin() as s:
        assert [f.name for f in repo.sync_feeds(s, feeds("b", "c"))] == ["b", "c"]
        assert s.scalar(select(func.count()).select_from(FeedRow)) == 3


def test_article_hits_and_deliveries_are_stored_once(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed, other] = repo.sync_feeds(s, feeds("a", "b"))
    with sessions.begin() as s:
        assert repo.store_article(s, article(feed.id, 1), [HIT]) is not None
    with sessions.begin() as s:  # same guid again; the same URL reached from another feed
        assert repo.store_article(s, article(feed.id, 1), [HIT]) is None
        elsewhere = article(other.id, 2, url="https://e.org/story/1")
        assert repo.store_article(s, elsewhere, [HIT]) is None
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ArticleRow)) == 1
        assert s.scalar(select(func.count()).select_from(HitRow)) == 1
        assert sorted(s.scalars(select(DeliveryRow.channel))) == ["desk", "email"]
        [(feed_id, guid, reason)] = s.execute(
            select(SightingRow.feed_id, SightingRow.guid, SightingRow.reason)
        ).all()
        assert (feed_id, guid, reason) == (other.id, "g2", "merged")


def test_an_article_starting_its_own_story_is_written_once_on_postgresql(
    postgres_url: str,
) -> None:
    """Its story is named after its own id; PostgreSQL writes the row once (an update of
    story_id after the insert would rewrite it and put its words into the full-text index
    again). An article joining that story, and one already stored, change nothing more."""
    engine = make_engine(postgres_url)
    _truncate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    sig = tuple(range(60))
    with sessions.begin() as s:
        ids = [
            repo.store_article(s, replace(article(feed.id, n), signature=sig), [])
            for n in (1, 2, 1)
        ]
        articles = "'articles'::regclass"
        assert s.scalar(text(f"SELECT pg_stat_get_xact_tuples_inserted({articles})")) == 2
        assert s.scalar(text(f"SELECT pg_stat_get_xact_tuples_updated({articles})")) == 0
    first, second, again = ids
    assert first is not None and second is not None and again is None
    with sessions() as s:
        stories = {i: story for i, story in s.execute(select(ArticleRow.id, ArticleRow.story_id))}
    assert stories == {first: first, second: first}
    engine.dispose()


def _signed(feed_id: int, n: int, sig: tuple[int, ...]) -> Article:
    return replace(article(feed_id, n), signature=sig)


def test_a_copy_later_in_the_same_group_joins_the_earlier_articles_story(
    engine: Engine,
) -> None:
    """One group: the copy finds its original among the group's earlier articles (the
    database does not hold it yet); PostgreSQL still writes every row once."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    copy, other = tuple(range(60)), tuple(range(1000, 1060))
    group = [_signed(feed.id, 1, copy), _signed(feed.id, 2, other), _signed(feed.id, 3, copy)]
    with sessions.begin() as s:
        ids = repo.store_articles(s, [(a, [HIT]) for a in group])
        if engine.dialect.name == "postgresql":
            articles = "'articles'::regclass"
            assert s.scalar(text(f"SELECT pg_stat_get_xact_tuples_updated({articles})")) == 0
    first, second, third = ids
    with sessions() as s:
        stories = {i: story for i, story in s.execute(select(ArticleRow.id, ArticleRow.story_id))}
        delivered = {
            (h, st) for h, st in s.execute(select(DeliveryRow.hit_id, DeliveryRow.story_id))
        }
        hits = {h: a for h, a in s.execute(select(HitRow.id, HitRow.article_id))}
    assert stories == {first: first, second: second, third: first}
    assert {(hits[h], story) for h, story in delivered} == {
        (first, first),
        (second, second),
        (third, first),
    }


def test_a_copy_of_an_article_refused_as_stored_starts_its_own_story(engine: Engine) -> None:
    """The group's original turns out to be stored already (a replica stored it, or it is
    older than the window): its copy is the first of its own story, not of a missing id."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    sig = tuple(range(60))
    with sessions.begin() as s:
        [old] = repo.store_articles(s, [(_signed(feed.id, 1, sig), [])])
    group = [(_signed(feed.id, 1, sig), []), (_signed(feed.id, 2, sig), [HIT])]
    with sessions.begin() as s:  # a window too short to find the stored one
        ids = repo.store_articles(s, group, (1e-6, 0.5))
    again, copy = ids
    assert again is None and copy is not None and old is not None
    with sessions() as s:
        stories = {i: story for i, story in s.execute(select(ArticleRow.id, ArticleRow.story_id))}
        delivered = set(s.scalars(select(DeliveryRow.story_id)))
    assert stories == {old: old, copy: copy} and delivered == {copy}


def test_a_group_takes_as_many_statements_as_one_article(engine: Engine) -> None:
    """Storing is a fixed number of statements per group: per article, executing them cost
    the service more than anything they did."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    def stored(numbers: range) -> int:
        sent.clear()
        group = [(_signed(feed.id, n, tuple(range(n, n + 60))), [HIT, HIT2]) for n in numbers]
        with sessions.begin() as s:
            ids = repo.store_articles(s, group)
        assert None not in ids
        return len(sent)

    event.listen(engine, "before_cursor_execute", record)
    one, many = stored(range(1, 2)), stored(range(100, 140))
    event.remove(engine, "before_cursor_execute", record)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(HitRow)) == 82
        assert s.scalar(select(func.count()).select_from(DeliveryRow)) == 164
    assert many == one <= 7


def test_a_claimed_batchs_stories_are_looked_up_by_their_indexes(engine: Engine) -> None:
    """What each channel was told of a batch's stories, and what the stories hold, are read
    through the story indexes: never by reading every story ever told or every article
    (20,000 of each here)."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
        for n in (*range(40), *range(100, 140)):  # forty stories, each reported twice
            sig = tuple(range(n % 100, n % 100 + 60))
            stored = replace(article(feed.id, n), signature=sig)
            repo.store_article(s, stored, [HIT])
        other = {"feed_id": feed.id, "url": "u", "canonical_url": "u", "title": "t", "text": ""}
        s.execute(  # 20,000 articles of other stories
            insert(ArticleRow),
            [
                other
                | {"guid": f"o{n}", "url_hash": f"o{n}", "story_id": -n, "text_source": "feed"}
                for n in range(20000)
            ],
        )
        told = {"status": "sent", "severity": 3, "rules": [], "figures": {}, "followups": 0}
        s.execute(
            insert(StoryMessageRow),
            [
                told | {"story_id": -n, "channel": "desk", "outlets": 1, "languages": 1}
                for n in range(20000)
            ],
        )
    with sessions() as s:
        claimed = repo.claim_due(s, datetime.now(UTC) + timedelta(seconds=1), "test", 0, 200)
    assert len(claimed) == 160
    keys = {(a.story_id or a.article_id, a.channel) for a in claimed}
    assert len(keys) == 80  # 40 stories, two channels: the copies are in their story
    with query_plan(engine, "FROM story_messages") as told_steps, sessions() as s:
        assert story_messages.told(s, keys) == {}
    with query_plan(engine, "articles.story_id") as spread_steps, sessions() as s:
        spreads = story_messages.spread(s, {story for story, _ in keys})
    assert {len(sp.outlets) for sp in spreads.values()} == {1} and len(spreads) == 40
    assert any(
        "story_messages" in step and ("pkey" in step or "INDEX" in step) for step in told_steps
    ), told_steps
    assert any("ix_articles_story_id" in step for step in spread_steps), "\n".join(spread_steps)


def test_claimed_alerts_then_sent_and_failed(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
        repo.store_article(s, article(feed.id, 1), [HIT])
    now = datetime.now(UTC) + timedelta(seconds=1)
    with sessions() as s:
        alerts = repo.claim_due(s, now, "test", 0)
    assert [(a.channel, a.headline, a.source, a.rule_id) for a in alerts] == [
        ("desk", "Title 1", "a", "r1"),
        ("email", "Title 1", "a", "r1"),
    ]
    assert alerts[0].evidence == HIT.evidence and alerts[0].published is not None
    with sessions.begin() as s:
        repo.mark_sent(s, alerts[0].delivery_id)
        repo.mark_attempt_failed(s, alerts[1].delivery_id, "boom", now + timedelta(hours=1))
    with sessions() as s:
        assert repo.claim_due(s, now, "test", 0) == []
        assert len(repo.claim_due(s, now + timedelta(hours=2), "test", 0)) == 1
        assert repo.delivery_attempts(s, alerts[1].delivery_id) == 1
    with sessions.begin() as s:
        repo.mark_attempt_failed(s, alerts[1].delivery_id, "boom", None)
    with sessions() as s:
        assert repo.claim_due(s, now + timedelta(days=1), "test", 0) == []
        [view] = repo.recent_hits(s, now - timedelta(hours=1))
    assert view.deliveries == (("desk", "sent"), ("email", "failed"))


def test_record_poll_success_and_failure(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    failure = repo.PollOutcome(status=500, next_in=600, error="fetch: HTTP 500")
    with sessions.begin() as s:
        assert repo.record_poll(s, feed.id, failure, down_after=3600) is None
        assert repo.record_poll(s, feed.id, failure, down_after=0) == "down"
        assert repo.record_poll(s, feed.id, failure, down_after=0) is None  # only once
    with sessions() as s:
        [status] = repo.feed_statuses(s)
        assert repo.due_feeds(s, datetime.now(UTC), 10) == []  # backing off
        assert len(repo.due_feeds(s, datetime.now(UTC) + timedelta(minutes=11), 10)) == 1
    assert (status.error_count, status.last_error, status.last_success_at) == (
        3,
        "fetch: HTTP 500",
        None,
    )
    assert status.down_since is not None
    ok = repo.PollOutcome(
        status=200,
        next_in=300,
        etag='"e"',
        items=3,
        content_hash="h",
        moved_to="https://a.example/new-rss",
        poll_interval=240,
    )
    with sessions.begin() as s:
        assert repo.record_poll(s, feed.id, ok) == "recovered"
        assert repo.record_poll(s, feed.id, ok) is None
    with sessions() as s:
        [status] = repo.feed_statuses(s)
        ref = repo.feed_ref(s, feed.id)
    assert (status.error_count, status.last_error, status.items_seen) == (0, None, 6)
    assert (ref.etag, ref.content_hash, ref.poll_interval) == ('"e"', "h", 240)
    assert ref.address == "https://a.example/new-rss" and ref.url == "https://a.example/rss"
    assert status.last_success_at is not None and status.last_success_at.tzinfo is not None


def test_record_polls_keeps_each_feeds_own_outcome_in_one_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        a, b, c = repo.sync_feeds(s, feeds("a", "b", "c"))
        repo.record_poll(s, b.id, repo.PollOutcome(500, 60, error="HTTP 500"), down_after=0)
    polls = [
        (a.id, repo.PollOutcome(200, 300, etag='"a"', items=2)),
        (b.id, repo.PollOutcome(304, 300)),
        (c.id, repo.PollOutcome(500, 600, error="HTTP 503")),
        (a.id, repo.PollOutcome(304, 300)),  # the same feed twice: both counted
        (999_999, repo.PollOutcome(304, 300)),  # removed meanwhile: nothing to keep
    ]
    with sessions.begin() as s:
        changes = repo.record_polls(s, polls, down_after=0)
    assert changes == [None, "recovered", "down", None, None]
    with sessions() as s:
        status = {st.name: st for st in repo.feed_statuses(s)}
        refs = {f.name: repo.feed_ref(s, f.id) for f in (a, b, c)}
    assert (status["a"].items_seen, status["a"].last_status, refs["a"].etag) == (2, 304, '"a"')
    assert (status["b"].error_count, status["b"].down_since) == (0, None)
    assert (status["c"].error_count, status["c"].last_error) == (1, "HTTP 503")
    assert status["c"].down_since is not None


def test_a_feed_twice_in_one_batch_is_told_down_once(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
    failure = repo.PollOutcome(500, 60, error="HTTP 500")
    with sessions.begin() as s:
        changes = repo.record_polls(s, [(feed.id, failure), (feed.id, failure)], down_after=0)
    with sessions() as s:
        [status] = repo.feed_statuses(s)
    assert changes == ["down", None]
    assert status.error_count == 2


def test_gone_feeds_are_disabled_until_their_url_changes(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed] = repo.sync_feeds(s, feeds("a"))
        repo.record_poll(s, feed.id, repo.PollOutcome(410, None, error="HTTP 410", gone=True))
    with sessions.begin() as s:
        assert repo.active_feeds(s) == []
        assert repo.due_feeds(s, datetime.now(UTC) + timedelta(days=1), 10) == []
        assert repo.sync_feeds(s, feeds("a")) == []  # same URL: stays disabled
        [status] = repo.feed_statuses(s)
        assert status.disabled_reason == "HTTP 410"
        moved = [FeedConfig(url="https://a.example/feed2", name="a")]
        assert [f.name for f in repo.sync_feeds(s, moved)] == ["a"]


def test_due_feeds_skip_those_in_flight(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        a, _b = repo.sync_feeds(s, feeds("a", "b"))
    with sessions() as s:
        assert [f.name for f in repo.due_feeds(s, datetime.now(UTC), 10, busy=[a.id])] == ["b"]
        assert len(repo.due_feeds(s, datetime.now(UTC), 1)) == 1


def test_claimed_feeds_are_leased_and_hosts_limited(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    same_host = [FeedConfig(url=f"https://one.example/{n}.xml", name=n) for n in "abc"]
    with sessions.begin() as s:
        repo.sync_feeds(s, [*same_host, *feeds("d")])
    now = datetime.now(UTC)
    with sessions.begin() as s:  # per host 2: a, b and d; c waits for one.example
        first = repo.claim_due_feeds(s, now, 10, "w1", 60, per_host=2)
    assert sorted(f.name for f in first) == ["a", "b", "d"]
    with sessions.begin() as s:  # leased feeds are not due for another worker
        assert repo.claim_due_feeds(s, now, 10, "w2", 60, per_host=2) == []
    with sessions.begin() as s:  # leases expired (the worker died): taken over
        later = repo.claim_due_feeds(s, now + timedelta(seconds=61), 10, "w2", 60, per_host=2)
    assert sorted(f.name for f in later) == ["a", "b", "d"]


def test_the_next_poll_is_counted_from_the_claim_not_from_the_end(engine) -> None:  # type: ignore[no-untyped-def]
    """A feed polled every 30 s whose poll took 5 s is due 30 s after it was claimed (else
    every poll's length and the tick's wait would add to the period, and to alert latency);
    a poll longer than the interval makes the next one due at once."""
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.sync_feeds(s, feeds("a"))
    claimed_at = datetime.now(UTC) - timedelta(seconds=5)
    with sessions.begin() as s:
        [feed] = repo.claim_due_feeds(s, claimed_at, 10, "w1", 60, per_host=2)
    assert feed.claimed_at == claimed_at
    with sessions.begin() as s:
        repo.record_poll(s, feed.id, repo.PollOutcome(200, 30.0, started=feed.claimed_at))
        due = s.get_one(FeedRow, feed.id).next_check_at
    assert due == claimed_at + timedelta(seconds=30)
    with sessions.begin() as s:
        repo.record_poll(s, feed.id, repo.PollOutcome(200, 2.0, started=feed.claimed_at))
        due = s.get_one(FeedRow, feed.id).next_check_at
    assert claimed_at + timedelta(seconds=5) <= due <= datetime.now(UTC)


def test_a_claim_waiting_on_a_lock_gives_up(postgres_url: str) -> None:
    # PostgreSQL only: SQLite has one process and no advisory locks, nothing to wait on.
    engine = make_engine(postgres_url)
    _truncate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        repo.sync_feeds(s, feeds("a"))
    with engine.connect() as holder:  # another replica stuck mid-claim
        holder.execute(text(f"SELECT pg_advisory_lock({repo.CLAIM_LOCK})"))
        with pytest.raises(OperationalError, match="lock timeout"), sessions.begin() as s:
            repo.claim_due_feeds(s, datetime.now(UTC), 10, "w1", 60, per_host=2)
        holder.execute(text(f"SELECT pg_advisory_unlock({repo.CLAIM_LOCK})"))
    with sessions.begin() as s:  # and the next tick claims as usual
        assert len(repo.claim_due_feeds(s, datetime.now(UTC), 10, "w1", 60, per_host=2)) == 1
    engine.dispose()


def test_a_workers_own_stale_lease_is_taken_again_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    """A poll that could not even record its failure (a full disk) leaves its lease; the
    worker that holds it, not polling that feed any more, takes it again without waiting
    for the lease to expire, also when the host is at its limit. Others still wait."""
    sessions = session_factory(engine)
    same_host = [FeedConfig(url=f"https://one.example/{n}.xml", name=n) for n in "ab"]
    with sessions.begin() as s:
        repo.sync_feeds(s, same_host)
    now = datetime.now(UTC)
    with sessions.begin() as s:
        claimed = {f.name: f.id for f in repo.claim_due_feeds(s, now, 10, "w1", 600, per_host=2)}
    assert sorted(claimed) == ["a", "b"]
    with sessions.begin() as s:  # another worker waits for the leases
        assert repo.claim_due_feeds(s, now, 10, "w2", 600, per_host=2) == []
    with sessions.begin() as s:  # w1 still polls a; b's lease is stale
        polling = {claimed["a"]}
        again = repo.claim_due_feeds(s, now, 10, "w1", 600, per_host=2, in_flight=polling)
    assert [f.name for f in again] == ["b"]

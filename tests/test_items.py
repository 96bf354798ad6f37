"""Which of a feed's items are new, revisions, or an article already stored (seen again),
on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from monitor.entities import Article, Document, FeedEntry
from monitor.store import repository as repo
from monitor.store.db import session_factory
from tests.test_repository import article, feeds


def entry(guid: str, link: str | None, title: str = "Title 1") -> FeedEntry:
    return FeedEntry(guid, link, title, "Body", None)


def test_entries_sorted_into_new_revised_and_seen_elsewhere(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [feed, other] = repo.sync_feeds(s, feeds("a", "b"))
        same = entry("g1", "https://e.org/story/1")
        first = replace(article(feed.id, 1), entry_hash=same.fingerprint)
        repo.store_article(s, first, [])
    with sessions.begin() as s:
        mine = repo.triage(
            s,
            feed.id,
            [
                same,  # known, unchanged
                entry("g1b", "https://e.org/story/1?utm_source=rss"),  # republished
                entry("g3", "https://e.org/story/1", "Another release"),  # same page, new item
                entry("g2", "https://e.org/story/2"),  # new
            ],
        )
        changed = repo.triage(s, feed.id, [entry("g1", "https://e.org/story/1", "UPDATE")])
        theirs = repo.triage(s, other.id, [entry("x", "https://e.org/story/1#top")])
    assert [e.guid for e in mine.new] == ["g3", "g2"] and mine.revised == []
    assert [(x.guid, x.reason) for x in mine.seen] == [("g1b", "republished")]
    assert [(e.title, k.revision) for e, k in changed.revised] == [("UPDATE", 1)]
    assert [(x.guid, x.reason) for x in theirs.seen] == [("x", "merged")]
    with sessions.begin() as s:  # a sighting is known next time: not counted again
        again = repo.triage(s, other.id, [entry("x", "https://e.org/story/1#top")])
    assert again.new == [] and again.seen == []


def test_link_less_items_of_two_feeds_never_collide_on_opaque_guids(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        [a, b] = repo.sync_feeds(s, feeds("a", "b"))
        for feed in (a, b):
            bare = Article(feed.id, "1", "1", "1", Document("T", "B"), "feed", None, None)
            assert repo.store_article(s, bare, []) is not None
        assert repo.triage(s, b.id, [entry("2", None)]).new != []

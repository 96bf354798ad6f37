"""Storing, and only storing: a poll's new articles, already matched, are stored with their
hits and pending deliveries, together with the polls that finish meanwhile (group commit,
``monitor.batch``).

The pages a poll's articles touch are mostly shared with the next poll's (the tables' last
pages, the full-text index, the time-ordered indexes), so a transaction per poll would
write them again and again; the group's articles go in together too
(``repository.store_articles``: a fixed number of statements, whatever the group's size).

What a failure means, poll by poll, as if each had its own transaction:
- an article the database refuses as data: the poll's other articles are stored one by one,
  and that one is logged and left out;
- any other error: the poll fails (the pipeline does not save its validators, so its next
  poll sees the items again);
- a group whose transaction fails is stored again poll by poll, so one poll never keeps
  another's articles out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.entities import Article, Hit
from monitor.store import repository as repo
from monitor.stories.link import LINKS, LinkSettings

log = logging.getLogger(__name__)
STORE_GROUP_LIMIT = 5  # polls per transaction: about 50 articles, the write lock held briefly
Matched = list[tuple[Article, list[Hit]]]


@dataclass(frozen=True)
class PollStored:
    """What of one poll's articles was stored."""

    new: int = 0
    hits: int = 0
    tallies: Mapping[str, int] = field(default_factory=dict)  # merged at store time


Stored = PollStored | Exception  # or why the poll stored nothing


@dataclass(frozen=True)
class Storing:
    sessions: sessionmaker[Session]
    stories: tuple[float, float]  # (window seconds, similarity) for grouping a story
    corrections: frozenset[str] = frozenset()  # channels told of an alerted article's revision
    links: LinkSettings = LINKS

    def polls(self, batch: list[Matched]) -> list[Stored]:
        """Store each poll's matched articles; one result per poll, in order."""
        try:
            with self.sessions.begin() as session:
                flat = self._many(session, [item for poll in batch for item in poll])
        except Exception as exc:
            if len(batch) > 1:
                return [stored for poll in batch for stored in self.polls([poll])]
            if not isinstance(exc, DataError):
                return [exc]
            flat = [self._alone(item) for item in batch[0]]
        ids, start = [], 0
        for poll in batch:
            ids.append(flat[start : start + len(poll)])
            start += len(poll)
        return [_counted(stored) for stored in ids]

    def _many(self, session: Session, items: Matched) -> list[repo.StoredItem]:
        return repo.store_group(session, items, self.stories, self.corrections, self.links)

    def _alone(self, item: tuple[Article, list[Hit]]) -> repo.StoredItem:
        try:
            with self.sessions.begin() as session:
                return self._many(session, [item])[0]
        except DataError as exc:
            log.error("article %s not stored, the database refuses it: %s", item[0].url, exc.orig)
            return repo.StoredItem(None)


def _counted(stored: list[repo.StoredItem]) -> PollStored:
    new = hits = 0
    tallies: dict[str, int] = {}
    for item in stored:
        if item.merged:
            tallies[item.merged] = tallies.get(item.merged, 0) + 1
        if item.article_id is None:
            continue
        new += not item.revised
        hits += len(item.rules)
        for rule in item.rules:
            metrics.HITS.labels(rule=rule).inc()
    return PollStored(new, hits, tallies)

"""What a poll needs, built once at start-up by the composition root and passed down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar, TypeVarTuple

from sqlalchemy.orm import Session, sessionmaker

from monitor.batch import Batcher
from monitor.config import Config
from monitor.feeds.pages import Pages
from monitor.language import LanguageIdentifier
from monitor.language.understand import Understanding, default_understanding
from monitor.pipeline.outcomes import Outcome, write_outcomes
from monitor.pipeline.storing import STORE_GROUP_LIMIT, Matched, Stored, Storing
from monitor.rules import Matcher
from monitor.sources import SOURCES, Net, Source
from monitor.store.articles import STORY_DEFAULTS
from monitor.stories.embed import Embedder
from monitor.stories.link import LinkSettings

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@dataclass
class Services:
    config: Config
    sessions: sessionmaker[Session]
    net: Net  # what sources fetch feeds with
    pages: Pages  # what the page stage fetches and extracts article pages with
    matcher: Matcher  # swapped whole when the rules are reloaded
    identifier: LanguageIdentifier = field(default_factory=LanguageIdentifier)
    understanding: Understanding = field(default_factory=default_understanding)
    sources: Mapping[str, Source] = field(default_factory=lambda: SOURCES)
    stories: tuple[float, float] = STORY_DEFAULTS  # window seconds, similarity
    links: LinkSettings = field(default_factory=LinkSettings)  # across wording and language
    embedder: Embedder | None = None  # None: stories by copies only
    corrections: frozenset[str] = frozenset()  # channels sent a follow-up on a revision
    # Database work runs on these threads, off the event loop: a commit waits on the disk,
    # and fetches and extraction hand-offs must not wait for it. One for SQLite (one writer
    # at a time), a few for PostgreSQL.
    db_threads: int = 1
    db_thread: Executor = field(init=False)
    # Matching takes the GIL for milliseconds per article: on a thread of its own it does
    # not hold up the event loop's fetches or the database thread's commits.
    cpu_thread: Executor = field(init=False)
    # Poll outcomes, and polls' new articles, of feeds that finish together are written in
    # one transaction each (group commit, ``monitor.batch``).
    outcomes: Batcher[Outcome, BaseException | None] = field(init=False)
    stores: Batcher[Matched, Stored] = field(init=False)

    def __post_init__(self) -> None:
        self.db_thread = ThreadPoolExecutor(self.db_threads, "db")
        self.cpu_thread = ThreadPoolExecutor(1, "cpu")
        down_after, delay = self.config.feed_down_after, self.config.admin.batch
        self.outcomes = Batcher(
            lambda batch: self.in_db(write_outcomes, self.sessions, down_after, batch, delay)
        )
        self.stores = Batcher(
            lambda batch: self.in_db(
                Storing(self.sessions, self.stories, self.corrections, self.links).polls, batch
            ),
            STORE_GROUP_LIMIT,
        )

    async def in_db(self, work: Callable[[*Ts], T], *args: *Ts) -> T:
        """``work(*args)`` on the database thread. A poll cancelled meanwhile does not stop
        it, so a transaction under way is finished, never left half-done."""
        return await asyncio.get_running_loop().run_in_executor(self.db_thread, work, *args)

    async def in_cpu(self, work: Callable[[*Ts], T], *args: *Ts) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.cpu_thread, work, *args)

    def close(self) -> None:
        """Wait for transactions under way, then let the threads go."""
        self.cpu_thread.shutdown(wait=True)
        self.db_thread.shutdown(wait=True)


def gather_limited(limit: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> Awaitable[list[T]]:
    """Run the jobs with at most ``limit`` at a time; results in order."""
    slots = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with slots:
            return await job()

    return asyncio.gather(*(one(job) for job in jobs))

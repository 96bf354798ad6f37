"""The long-running service: APScheduler 3.11 polls each feed at its own interval.

Each feed is one job (coalesce, max_instances=1: a slow poll never piles up and after
downtime a feed gets one catch-up poll, not one per missed interval). SIGTERM/SIGINT stop
new work; polls in flight get GRACE_SECONDS to finish, then are cancelled. Each article is
written in its own transaction, so cancelling leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.notify.deliver import deliver_due
from monitor.pipeline import Services, poll_safely
from monitor.rules.reload import RELOAD_INTERVAL, RuleWatcher
from monitor.store import repository as repo

GRACE_SECONDS = 20.0
DELIVERY_INTERVAL = 30.0
log = logging.getLogger(__name__)
T = TypeVar("T")


class Service:
    def __init__(self, svc: Services, watcher: RuleWatcher | None = None) -> None:
        self.svc = svc
        self.watcher = watcher
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def _poll(self, feed_id: int) -> None:
        if self.stopping.is_set():
            return
        with self.svc.sessions() as session:
            feed = repo.feed_ref(session, feed_id)  # fresh ETag and URL for every poll
        await self._tracked(poll_safely(self.svc, feed))
        await self._deliver()

    async def _reload(self) -> None:
        assert self.watcher is not None
        matcher = await asyncio.to_thread(self.watcher.poll)
        if matcher is not None:
            self.svc.matcher = matcher  # polls read it per article: the swap is atomic

    async def _deliver(self) -> None:
        if not self.stopping.is_set():
            await self._tracked(deliver_due(self.svc.sessions, self.svc.sender))

    async def _tracked(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        try:
            return await task
        finally:
            self._tasks.discard(task)

    def _schedule(self, scheduler: AsyncIOScheduler) -> int:
        now = datetime.now(UTC)
        with self.svc.sessions() as session:
            feeds = repo.active_feeds(session)
        for feed in feeds:
            scheduler.add_job(
                self._poll,
                IntervalTrigger(seconds=feed.interval),
                args=[feed.id],
                id=f"feed-{feed.id}",
                name=f"poll {feed.name}",
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(feed.interval),
            )
        if self.watcher is not None:
            scheduler.add_job(
                self._reload,
                IntervalTrigger(seconds=RELOAD_INTERVAL),
                id="reload-rules",
                coalesce=True,
                max_instances=1,
            )
        scheduler.add_job(
            self._deliver,
            IntervalTrigger(seconds=DELIVERY_INTERVAL),
            id="deliver",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(DELIVERY_INTERVAL),
        )
        return len(feeds)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        scheduler = AsyncIOScheduler(timezone=UTC)
        count = self._schedule(scheduler)
        scheduler.start()
        log.info("service started: %d feeds scheduled", count)
        await self.stopping.wait()
        log.info("stopping: no new polls; %d in flight", len(self._tasks))
        scheduler.shutdown(wait=False)
        await self._drain()
        log.info("stopped")

    async def _drain(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d polls still running after %.0fs", len(pending), GRACE_SECONDS)
            await asyncio.gather(*pending, return_exceptions=True)

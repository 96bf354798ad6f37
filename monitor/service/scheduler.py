"""The long-running service on APScheduler 3.11.

One "tick" job (every TICK_SECONDS; coalesce, max_instances=1, explicit misfire grace)
starts a poll for every feed whose next check has come. Each poll is its own task, so a
slow or hung poll holds up nothing else; a feed is never polled twice at once. The next
check of each feed is kept on its row (interval, adaptive pace, backoff, Retry-After),
counted from when the poll was claimed, so after downtime every feed gets one catch-up
poll, not one per missed interval.

SIGTERM/SIGINT stop new work; polls in flight get the shutdown grace to finish, then are
cancelled. A poll's new articles are written in one transaction, so nothing is left
half-written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from monitor.entities import FeedRef
from monitor.notify.deliver import deliver_due
from monitor.notify.digest import send_digest
from monitor.pipeline import poll_safely
from monitor.rules.reload import RELOAD_INTERVAL
from monitor.service.app import App
from monitor.service.watch import (
    WATCH_INTERVAL,
    FeedsFile,
    check_polling,
    check_rule_files,
    sync_feeds,
)
from monitor.store import repository as repo
from monitor.store.maintenance import run_retention
from monitor.websub.subscriber import Subscriber
from monitor.workers import worker_id

TICK_SECONDS = 1.0
DELIVERY_INTERVAL = 30.0
DELIVERY_BUDGET = 20.0  # seconds one delivery pass may take before the next pass goes on
WEBSUB_INTERVAL = 5.0  # a feed found advertising a hub is subscribed within this
log = logging.getLogger(__name__)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Service:
    def __init__(self, app: App, digest_channels: list[str] | None = None) -> None:
        self.app = app
        self.svc = svc = app.services
        self.digest_channels = app.digest_channels() if digest_channels is None else digest_channels
        self.stopping = asyncio.Event()
        self.running = False  # the scheduler is up: /readyz asks
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: set[int] = set()
        self._slots = asyncio.Semaphore(svc.config.fetch.concurrency)
        self._deliver_lock = asyncio.Lock()  # one sender at a time: no double sends
        self._ticking = asyncio.Lock()
        self._started = datetime.now(UTC)
        self._told_broken: dict[str, str] | None = None  # rule files the database knows of
        self._feeds_file = FeedsFile(self.svc.config.feeds_path)  # as open_services read it
        config = svc.config
        self._subscriber = (
            Subscriber(svc.sessions, svc.net, config.web.base_url)
            if config.websub.enabled and config.web.base_url
            else None
        )

    def wake(self) -> None:
        """A hub pushed a body for one of our feeds (to the web app in this process): claim
        it now rather than at the next tick."""
        if self.running and not self.stopping.is_set():
            self._spawn(self._tick())

    async def _tick(self) -> None:
        async with self._ticking:  # a woken tick and the scheduled one take turns
            await self._claim_and_poll()

    async def _claim_and_poll(self) -> None:
        if self.stopping.is_set():
            return
        limit = max(0, self.svc.config.fetch.concurrency * 2 - len(self._in_flight))
        if not limit:
            return
        started = time.monotonic()
        try:  # in a thread: a claim waiting on the database must not freeze running polls
            due = await asyncio.to_thread(self._claim, limit, frozenset(self._in_flight))
        except OperationalError as exc:
            log.warning("claiming due feeds failed, next tick retries: %s", _first_line(exc))
            return
        if (took := time.monotonic() - started) > TICK_SECONDS:
            log.warning("claiming %d due feeds took %.1fs", len(due), took)
        for feed in due:
            if feed.id not in self._in_flight:
                self._in_flight.add(feed.id)
                self._spawn(self._poll(feed))

    def _claim(self, limit: int, in_flight: frozenset[int]) -> list[FeedRef]:
        config = self.svc.config
        with self.svc.sessions.begin() as session:  # leased: other replicas skip these
            return repo.claim_due_feeds(
                session,
                datetime.now(UTC),
                limit,
                worker_id(),
                config.lease,
                config.fetch.per_host,
                in_flight=in_flight,
            )

    async def _poll(self, feed: FeedRef) -> None:
        try:
            async with self._slots:
                if self.stopping.is_set():
                    return
                report = await poll_safely(self.svc, feed)
        finally:
            self._in_flight.discard(feed.id)
        if report.hits and report.pushed:  # news pushed to us goes out at once
            await self._deliver(settle=0.0)
        elif report.hits:  # once the story's other reports of this round could join it
            await asyncio.sleep(self.app.sender.settings.stories.settle)
            await self._deliver()

    async def _deliver(self, settle: float | None = None) -> None:
        if self.stopping.is_set():
            return
        async with self._deliver_lock:
            await deliver_due(
                self.svc.sessions,
                self.app.sender,
                lease=self.svc.config.lease,
                budget=DELIVERY_BUDGET,
                db=self.svc.db_thread,
                admin=self.svc.config.admin,
                settle=self.app.sender.settings.stories.settle if settle is None else settle,
            )

    async def _websub(self) -> None:
        if self._subscriber is not None and not self.stopping.is_set():
            await self._subscriber.run_pass(datetime.now(UTC))

    async def _reload(self) -> None:
        await asyncio.to_thread(self.app.reload_rules)
        feeds = await asyncio.to_thread(self._feeds_file.changed)
        if feeds is not None:
            await asyncio.to_thread(sync_feeds, self.svc.sessions, feeds)
        broken = dict(self.app.watcher.broken)
        if broken != self._told_broken:
            await asyncio.to_thread(check_rule_files, self.svc.sessions, broken, datetime.now(UTC))
            self._told_broken = broken

    async def _watch(self) -> None:
        after = self.svc.config.admin.no_poll_after
        await asyncio.to_thread(
            check_polling, self.svc.sessions, datetime.now(UTC), after, self._started
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule(self, scheduler: AsyncIOScheduler) -> int:
        jobs: list[tuple[Any, float, str]] = [
            (self._tick, TICK_SECONDS, "tick"),
            (self._deliver, DELIVERY_INTERVAL, "deliver"),
            (self._reload, RELOAD_INTERVAL, "reload-rules"),
            (self._watch, WATCH_INTERVAL, "watch"),
            (self._websub, WEBSUB_INTERVAL, "websub"),
        ]
        for func, every, name in jobs:
            scheduler.add_job(
                func,
                IntervalTrigger(seconds=every),
                id=name,
                name=name,
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(every)),
            )
        for channel in self.digest_channels:
            trigger = self.app.sender.settings.channel(channel).trigger()
            scheduler.add_job(
                self._digest,
                trigger,
                args=[channel],
                id=f"digest-{channel}",
                name=f"digest {channel}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=300,
            )
        scheduler.add_job(
            self._retention,
            CronTrigger(hour=3, minute=30, timezone=UTC),
            id="retention",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        with self.svc.sessions() as session:
            return len(repo.active_feeds(session))

    async def _retention(self) -> None:
        slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        await asyncio.to_thread(
            run_retention, self.svc.sessions, self.svc.config.retention_days, slot
        )

    async def _digest(self, channel: str) -> None:
        # The slot is the minute the cron fired for: one digest per slot across replicas.
        slot = datetime.now(UTC).replace(second=0, microsecond=0)
        async with self._deliver_lock:
            await send_digest(
                self.svc.sessions, self.app.sender, channel, slot, db=self.svc.db_thread
            )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        scheduler = AsyncIOScheduler(timezone=UTC)
        count = self._schedule(scheduler)
        scheduler.start()
        self.running = True
        log.info("service started: %d feeds scheduled", count)
        await self.stopping.wait()
        log.info("stopping: no new polls; %d tasks in flight", len(self._tasks))
        scheduler.shutdown(wait=False)
        self.running = False
        await self._drain()
        log.info("stopped")

    async def _drain(self) -> None:
        grace = self.svc.config.shutdown_grace
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d polls still running after %.0fs", len(pending), grace)
            await asyncio.gather(*pending, return_exceptions=True)

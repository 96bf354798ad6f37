"""``monitor run --once``: every feed polled once, alerts sent meanwhile and at the end."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.entities import FeedRef
from monitor.notify.deliver import DeliveryReport, deliver_due
from monitor.pipeline import PollReport, poll_safely
from monitor.pipeline.context import gather_limited
from monitor.service.app import App

CYCLE_DELIVERY_INTERVAL = 2.0  # seconds between outbox drains during a cycle


@dataclass
class CycleReport:
    polls: list[PollReport] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    @property
    def failed(self) -> list[PollReport]:
        return [p for p in self.polls if p.error]


async def run_cycle(app: App, feeds: Sequence[FeedRef]) -> CycleReport:
    """Poll every feed once (bounded concurrency), sending due alerts meanwhile and every
    one still due at the end."""
    svc = app.services
    polled = asyncio.Event()
    sending = asyncio.create_task(_deliver_until(app, polled))
    jobs = [functools.partial(poll_safely, svc, f) for f in feeds]
    try:
        polls = list(await gather_limited(svc.config.fetch.concurrency, jobs))
    except BaseException:
        sending.cancel()
        raise
    polled.set()
    return CycleReport(polls=polls, delivery=await sending)


async def _deliver_until(app: App, polled: asyncio.Event) -> DeliveryReport:
    """Drain the outbox every ``CYCLE_DELIVERY_INTERVAL`` seconds until the polls are done,
    then once more: on a long cold cycle the first alerts reach the desk within seconds,
    and routing thousands of alerts is not left to run alone after the extraction."""
    svc = app.services
    report = DeliveryReport()
    while True:
        last = polled.is_set()
        report.add(
            await deliver_due(
                svc.sessions,
                app.sender,
                db=svc.db_thread,
                admin=svc.config.admin,
                flush=last,
                settle=app.sender.settings.stories.settle,
            )
        )
        if last:
            return report
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(polled.wait(), CYCLE_DELIVERY_INTERVAL)

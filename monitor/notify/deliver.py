"""Delivery from the outbox: each due (hit, channel) row is routed, sent, and its result
recorded. Each channel is tried on its own: one broken channel never holds up another.

Routing, in order, for one row:
1. another outlet's copy of a story this channel already has for this rule: folded into the
   digest as "also reported by", or sent as a short follow-up, or dropped (``also_reported``);
2. a channel in ``digest`` mode: waits for its digest;
3. quiet hours (not for critical): held until they end;
4. over the channel's hourly rate limit: waits for the digest (the channel is told once);
5. otherwise sent now. A failure retries with exponential backoff and jitter (8 attempts
   over about 6 hours), then the row is marked failed and shows in ``monitor alerts list``.
A row is marked sent only after the channel accepted it: a crash in between can cause one
duplicate, never a lost alert. Queued notices (feed down, recovered) are sent the same way.

Database work runs on the executor the caller gives (the service's database thread), and
sending on a thread of its own: the event loop only decides.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.config.settings import AdminSettings, default
from monitor.entities import Alert, Severity
from monitor.errors import DeliveryError
from monitor.notify.alarms import delivery_failed, delivery_sent
from monitor.notify.sender import Sender
from monitor.notify.settings import ChannelSettings
from monitor.store import repository as repo
from monitor.store.models import utcnow
from monitor.workers import worker_id

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
MAX_ATTEMPTS = 8
DELIVERY_LEASE: float = default("lease")  # a claimed batch must be sent within this
FIRST_RETRY = timedelta(minutes=3)  # 3, 6, 12 ... 192 min: about 6 hours in all
JITTER = 0.2
SEND_DEADLINE = 60.0  # seconds one message may take to be accepted before it counts as failed
log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    to_digest: int = 0
    folded: int = 0
    notices: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Count another drain's outcomes in this report."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.held += other.held
        self.to_digest += other.to_digest
        self.folded += other.folded
        self.notices += other.notices
        self.errors += other.errors


def retry_at(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed tries; None once they are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    jitter = 1 + JITTER * (2 * (rng or random).random() - 1)
    delay: timedelta = FIRST_RETRY * (2 ** (attempts - 1)) * jitter
    return now + delay


@dataclass(frozen=True)
class Decision:
    action: str  # send | followup | fold | drop | digest | hold
    reason: str | None = None
    until: datetime | None = None


def decide(alert: Alert, channel: ChannelSettings, now: datetime, sent_last_hour: int) -> Decision:
    if alert.first_headline is not None:
        action = {"digest": "fold", "followup": "followup", "off": "drop"}[channel.also_reported]
        return Decision(action, "another outlet's copy of a story already alerted")
    if Severity[channel.min_severity] > alert.severity:
        return Decision("drop", f"below the channel's minimum severity {channel.min_severity}")
    if channel.mode == "digest":
        return Decision("digest", "digest channel")
    if channel.quiet_hours and alert.severity < Severity.critical:
        local = now.astimezone(ZoneInfo(channel.timezone))
        left = channel.quiet_hours.end_after(local)
        if left is not None:
            return Decision("hold", "quiet hours", now + left)
    if channel.rate_limit and sent_last_hour >= channel.rate_limit:
        return Decision("digest", "rate limited")
    return Decision("send")


async def in_db(db: Executor | None, work: Callable[[*Ts], T], *args: *Ts) -> T:
    """``work(*args)`` on the database executor (None: the loop's default threads)."""
    return await asyncio.get_running_loop().run_in_executor(db, work, *args)


async def deliver_due(
    sessions: sessionmaker[Session],
    sender: Sender,
    now: datetime | None = None,
    lease: float = DELIVERY_LEASE,
    budget: float | None = None,
    db: Executor | None = None,
    admin: AdminSettings | None = None,
    flush: bool = False,
) -> DeliveryReport:
    """Claim due deliveries batch after batch (several processes may run this at once) and
    handle each, until none is due or ``budget`` seconds have passed (None: until none is
    due); then the queued notices (with ``flush``, also those waiting for others of their
    kind: the last pass of ``run --once``). One batch per call would leave a backlog that
    every later alert waits behind."""
    now = now or utcnow()
    report = DeliveryReport()
    pass_ = _Pass(sessions, sender, now, report, db, admin or AdminSettings())
    started = time.monotonic()
    sent: dict[str, int] = {}
    while budget is None or time.monotonic() - started < budget:
        alerts = await in_db(db, _claim, sessions, now, lease)
        if not alerts:
            break
        await _handle_batch(pass_, alerts, sent)
    horizon = now + timedelta(seconds=pass_.admin.batch) if flush else now
    await _deliver_notices(sessions, sender, horizon, lease, report, db)
    return report


def _claim(sessions: sessionmaker[Session], now: datetime, lease: float) -> list[Alert]:
    with sessions.begin() as session:
        return repo.claim_due(session, now, worker_id(), lease)


def _sent_counts(
    sessions: sessionmaker[Session], channels: list[str], since: datetime
) -> dict[str, int]:
    with sessions() as session:
        return {channel: repo.sent_since(session, channel, since) for channel in channels}


@dataclass
class _Pass:
    """One delivery pass: what every step of it needs."""

    sessions: sessionmaker[Session]
    sender: Sender
    now: datetime
    report: DeliveryReport
    db: Executor | None
    admin: AdminSettings


async def _handle_batch(run: _Pass, alerts: list[Alert], sent: dict[str, int]) -> None:
    sessions, sender, now, db = run.sessions, run.sender, run.now, run.db
    unknown = list(dict.fromkeys(a.channel for a in alerts if a.channel not in sent))
    if unknown:
        sent |= await in_db(db, _sent_counts, sessions, unknown, now - timedelta(hours=1))
    routes: list[tuple[Alert, Decision]] = []
    by_channel: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_channel.setdefault(alert.channel, []).append(alert)

    async def channel_in_order(batch: list[Alert]) -> None:
        for alert in batch:
            settings = sender.settings.channel(alert.channel)
            decision = decide(alert, settings, now, sent[alert.channel])
            if decision.action in {"send", "followup"}:
                if await _send_one(run, alert, followup=decision.action == "followup"):
                    sent[alert.channel] += 1
            else:
                routes.append((alert, decision))

    # Channels side by side, each one's alerts in order: a slow channel holds up only itself.
    await asyncio.gather(*(channel_in_order(batch) for batch in by_channel.values()))
    if routes:
        limited = await in_db(db, _route, sessions, routes, now)
        _count_routes(routes, run.report)
        for channel in limited:
            await asyncio.to_thread(
                sender.notice_quietly,
                f"Rate limited: {channel}",
                f"More than {sender.settings.channel(channel).rate_limit} alerts this hour; "
                "the rest go to the next digest.",
                channel,
            )


async def _send_one(run: _Pass, alert: Alert, followup: bool) -> bool:
    try:
        async with asyncio.timeout(SEND_DEADLINE):
            done, errors = await asyncio.to_thread(run.sender.send_to_targets, alert, followup)
    except DeliveryError as exc:  # the channel is not configured
        await in_db(run.db, _record_failure, run, alert, str(exc))
        return False
    except TimeoutError:
        error = f"channel {alert.channel!r}: no answer within {SEND_DEADLINE:g}s"
        await in_db(run.db, _record_failure, run, alert, error)
        return False
    if errors:  # the targets that took it are kept, so a retry skips them
        error = f"channel {alert.channel!r}: " + "; ".join(errors)
        alert = replace(alert, targets_done=alert.targets_done | done)
        await in_db(run.db, _record_failure, run, alert, error)
        return False
    await in_db(run.db, _mark_sent, run.sessions, alert)
    log.info(
        "alert %s sent to %s: rule %s, article %s",
        alert.delivery_id,
        alert.channel,
        alert.rule_id,
        alert.article_id,
    )
    run.report.sent += 1
    metrics.DELIVERIES.labels(channel=alert.channel, outcome="sent").inc()
    return True


def _mark_sent(sessions: sessionmaker[Session], alert: Alert) -> None:
    with sessions.begin() as session:
        repo.mark_sent(session, alert.delivery_id)
        delivery_sent(session, alert.channel)


ROUTED = {"fold": "folded", "drop": "skipped", "digest": "digest", "hold": "pending"}


def _route(
    sessions: sessionmaker[Session], routes: list[tuple[Alert, Decision]], now: datetime
) -> list[str]:
    """Record where a batch's unsent alerts went, in one transaction (after a cold start
    thousands are folded or digested); the channels whose rate-limit notice is ours to
    send this hour."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    asked: set[str] = set()
    limited: list[str] = []
    with sessions.begin() as session:
        repo.set_statuses(
            session,
            [repo.Routing(a.delivery_id, ROUTED[d.action], d.reason, d.until) for a, d in routes],
        )
        for alert, decision in routes:
            if decision.reason == "rate limited" and alert.channel not in asked:
                asked.add(alert.channel)
                if repo.first_notice(session, alert.channel, "rate_limited", hour):
                    limited.append(alert.channel)
    return limited


def _count_routes(routes: list[tuple[Alert, Decision]], report: DeliveryReport) -> None:
    for alert, decision in routes:
        metrics.DELIVERIES.labels(channel=alert.channel, outcome=ROUTED[decision.action]).inc()
        if decision.action == "hold":
            report.held += 1
        elif decision.action == "digest":
            report.to_digest += 1
        else:
            report.folded += 1


def _record_failure(run: _Pass, alert: Alert, error: str) -> None:
    with run.sessions.begin() as session:
        attempts = repo.delivery_attempts(session, alert.delivery_id) + 1
        when = retry_at(attempts, run.now)
        repo.mark_attempt_failed(session, alert.delivery_id, error, when, alert.targets_done)
        delivery_failed(session, alert, error, attempts, when is None, run.now, run.admin)
    outcome = "failed" if when is None else "retry"
    metrics.DELIVERIES.labels(channel=alert.channel, outcome=outcome).inc()
    report = run.report
    if when is None:
        report.failed += 1
        log.error(
            "alert %s to %s failed for good after %d attempts: %s",
            alert.delivery_id,
            alert.channel,
            attempts,
            error,
        )
    else:
        report.retrying += 1
        log.warning(
            "alert %s to %s failed (attempt %d, next at %s): %s",
            alert.delivery_id,
            alert.channel,
            attempts,
            when.isoformat(timespec="seconds"),
            error,
        )
    report.errors.append(error)


async def _deliver_notices(
    sessions: sessionmaker[Session],
    sender: Sender,
    now: datetime,
    lease: float,
    report: DeliveryReport,
    db: Executor | None,
) -> None:
    """Queued notices, each tried like an alert; one its channel cannot take (no admin
    channel configured) is logged and given up at once."""
    notices = await in_db(db, _claim_notices, sessions, now, lease)
    for notice in notices:
        error: str | None = None
        try:
            await asyncio.to_thread(sender.notice, notice.title, notice.body, notice.channel)
        except DeliveryError as exc:
            error = str(exc)
        configured = notice.channel in sender.channels.urls or sender.channels.stdout_only
        when = retry_at(notice.attempts + 1, now) if error and configured else None
        if error:
            log.warning("notice %r not delivered: %s", notice.title, error)
        else:
            report.notices += 1
        await in_db(db, _finish_notice, sessions, notice.ids, error, when)


def _claim_notices(
    sessions: sessionmaker[Session], now: datetime, lease: float
) -> list[repo.Notice]:
    with sessions.begin() as session:
        return repo.claim_notices(session, now, worker_id(), lease)


def _finish_notice(
    sessions: sessionmaker[Session],
    notice_ids: tuple[int, ...],
    error: str | None,
    when: datetime | None,
) -> None:
    with sessions.begin() as session:
        repo.finish_notice(session, notice_ids, error, when)

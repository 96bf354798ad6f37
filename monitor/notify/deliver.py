"""Delivery from the outbox, story by story: a channel gets one message per story, however
many rules, outlets and languages carry it. Each channel is tried on its own: one broken
channel never holds up another.

A claimed batch's deliveries are grouped by (story, channel), most severe first. For a
story the channel has not received:
1. below the channel's minimum severity: skipped;
2. published long before it was first seen (a new feed's back catalogue, an outage):
   waits for the digest as catch-up (``catch_up_after``); a channel in ``digest`` mode:
   waits for its digest;
3. quiet hours (not for critical): held until they end;
4. over the hourly rate limit: waits for the digest. The limit counts messages of the
   story's severity or above, so routine stories never crowd out severe ones; critical
   never waits (the channel is told once an hour how many stories wait, and until when);
5. otherwise one message naming every rule that fired, reserved first (``story_messages``)
   so that no replica or restart sends it twice.
For a story the channel has: a follow-up when it matters (``notify.followup``), reserved
and counted like a message; otherwise the reports fold into it silently ("also reported
by" in the digest). A failure retries with exponential backoff and jitter (8 attempts over
about 6 hours), then the delivery is marked failed and shows in ``monitor alerts list``.
A delivery is marked sent only after the channel accepted it: a crash in between can cause
one duplicate, never a lost alert. Queued notices (feed down, recovered) are sent the same
way.

Database work runs on the executor the caller gives (the service's database thread), and
sending on a thread of its own: the event loop only decides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.config.settings import AdminSettings, default
from monitor.entities import Alert, Severity
from monitor.errors import DeliveryError
from monitor.notify import followup
from monitor.notify.alarms import delivery_failed, delivery_sent
from monitor.notify.retries import (
    MAX_ATTEMPTS,
    DeliveryReport,
    deliver_notices,
    in_db,
    retry_at,
)
from monitor.notify.sender import Sender
from monitor.notify.settings import ChannelSettings
from monitor.store import repository as repo
from monitor.store import story_messages as told_db
from monitor.store.models import utcnow
from monitor.workers import worker_id

MESSAGE_EVIDENCE = 6  # quotes in a story's message, over all its rules
CATCH_UP = "catch-up"  # the reason of an old item routed to the digest
SEND_DEADLINE = 60.0  # seconds one message may take to be accepted before it counts as failed
DELIVERY_LEASE: float = default("lease")  # a claimed batch must be sent within this
log = logging.getLogger(__name__)
__all__ = [
    "CATCH_UP",
    "MAX_ATTEMPTS",
    "Decision",
    "DeliveryReport",
    "decide",
    "deliver_due",
    "in_db",
    "retry_at",
]


@dataclass(frozen=True)
class Decision:
    action: str  # send | followup | fold | drop | digest | hold
    reason: str | None = None
    until: datetime | None = None


def decide(alert: Alert, channel: ChannelSettings, now: datetime, sent_last_hour: int) -> Decision:
    """Where a story new to the channel goes; ``alert`` is its most severe report and
    ``sent_last_hour`` the messages of that severity or above this hour."""
    if Severity[channel.min_severity] > alert.severity:
        return Decision("drop", f"below the channel's minimum severity {channel.min_severity}")
    age = alert.seen - alert.published if alert.seen and alert.published else None
    if channel.catch_up_after and age and age.total_seconds() > channel.catch_up_after:
        old = f"{age.days} days" if age.days >= 2 else f"{age.total_seconds() / 3600:.0f} hours"
        return Decision("digest", f"{CATCH_UP}: {old} old when first seen")
    if channel.mode == "digest":
        return Decision("digest", "digest channel")
    if channel.quiet_hours and alert.severity < Severity.critical:
        local = now.astimezone(ZoneInfo(channel.timezone))
        left = channel.quiet_hours.end_after(local)
        if left is not None:
            return Decision("hold", "quiet hours", now + left)
    limited = channel.rate_limit and sent_last_hour >= channel.rate_limit
    if limited and alert.severity < Severity.critical:
        return Decision("digest", "rate limited")
    return Decision("send")


async def deliver_due(
    sessions: sessionmaker[Session],
    sender: Sender,
    now: datetime | None = None,
    lease: float = DELIVERY_LEASE,
    budget: float | None = None,
    db: Executor | None = None,
    admin: AdminSettings | None = None,
    flush: bool = False,
    settle: float = 0.0,
) -> DeliveryReport:
    """Claim due deliveries batch after batch (several processes may run this at once) and
    handle each, until none is due or ``budget`` seconds have passed (None: until none is
    due); then the queued notices (with ``flush``, also those waiting for others of their
    kind: the last pass of ``run --once``). One batch per call would leave a backlog that
    every later alert waits behind. ``settle``: deliveries younger than this many seconds
    wait (not on a ``flush``), so that a poll round's reports of one story are one message."""
    now = now or utcnow()
    report = DeliveryReport()
    pass_ = _Pass(sessions, sender, now, report, db, admin or AdminSettings())
    started = time.monotonic()
    while budget is None or time.monotonic() - started < budget:
        settled = now - timedelta(seconds=0 if flush else settle)
        alerts = await in_db(db, _claim, sessions, now, lease, settled)
        if not alerts:
            break
        await _handle_batch(pass_, alerts)
    horizon = now + timedelta(seconds=pass_.admin.batch) if flush else now
    await deliver_notices(sessions, sender, horizon, lease, report, db)
    return report


def _claim(
    sessions: sessionmaker[Session], now: datetime, lease: float, settled: datetime
) -> list[Alert]:
    with sessions.begin() as session:
        return repo.claim_due(session, now, worker_id(), lease, settled=settled)


def _sent_counts(
    sessions: sessionmaker[Session], channels: list[str], since: datetime
) -> dict[str, list[int]]:
    with sessions() as session:
        return {c: told_db.sent_severities(session, c, since) for c in channels}


@dataclass
class _Pass:
    """One delivery pass: what every step of it needs."""

    sessions: sessionmaker[Session]
    sender: Sender
    now: datetime
    report: DeliveryReport
    db: Executor | None
    admin: AdminSettings
    sent: dict[str, list[int]] = field(default_factory=dict)  # severities sent this hour
    routes: list[tuple[Alert, Decision]] = field(default_factory=list)

    def sent_at_or_above(self, channel: str, severity: Severity) -> int:
        return sum(1 for s in self.sent[channel] if s >= severity)


Key = told_db.Key


def _story_state(
    sessions: sessionmaker[Session], keys: list[Key]
) -> tuple[dict[Key, told_db.Told], dict[int, told_db.Spread]]:
    with sessions() as session:
        return told_db.told(session, keys), told_db.spread(session, {s for s, _ in keys})


async def _handle_batch(run: _Pass, alerts: list[Alert]) -> None:
    sessions, _sender, now, db = run.sessions, run.sender, run.now, run.db
    unknown = list(dict.fromkeys(a.channel for a in alerts if a.channel not in run.sent))
    if unknown:
        run.sent |= await in_db(db, _sent_counts, sessions, unknown, now - timedelta(hours=1))
    groups: dict[Key, list[Alert]] = {}
    for alert in alerts:  # most severe first: a group's first report leads its message
        groups.setdefault((alert.story_id or alert.article_id, alert.channel), []).append(alert)
    told, spreads = await in_db(db, _story_state, sessions, list(groups))
    by_channel: dict[str, list[Key]] = {}
    for key in groups:
        by_channel.setdefault(key[1], []).append(key)

    async def channel_in_order(keys: list[Key]) -> None:
        for key in keys:
            spread = spreads.get(key[0]) or told_db.Spread((), (), {})
            await _handle_story(run, key, groups[key], told.get(key), spread)

    # Channels side by side, each one's stories in order: a slow channel holds up only itself.
    await asyncio.gather(*(channel_in_order(keys) for keys in by_channel.values()))
    routes, run.routes = run.routes, []
    if routes:
        limited = await in_db(db, _route, sessions, routes, now)
        _count_routes(routes, run.report)
        for channel in limited:
            await _tell_limited(run, channel)


async def _tell_limited(run: _Pass, channel: str) -> None:
    settings = run.sender.settings.channel(channel)
    waiting = await in_db(run.db, _waiting, run.sessions, channel)
    when = settings.trigger().get_next_fire_time(None, run.now)
    at = f"{when:%Y-%m-%d %H:%M} {settings.timezone}" if when else "the next digest"
    await asyncio.to_thread(
        run.sender.notice_quietly,
        f"Rate limited: {channel}",
        f"More than {settings.rate_limit} stories this hour: {waiting} less severe "
        f"stor{'y waits' if waiting == 1 else 'ies wait'} for the digest at {at}. "
        "Critical stories are still sent at once.",
        channel,
    )


def _waiting(sessions: sessionmaker[Session], channel: str) -> int:
    with sessions() as session:
        return told_db.waiting_stories(session, channel)


async def _handle_story(
    run: _Pass, key: Key, group: list[Alert], told: told_db.Told | None, spread: told_db.Spread
) -> None:
    settings = run.sender.settings.channel(key[1])
    if told and told.status == "sending":  # a message that failed, or a worker that died,
        mine = [a for a in group if a.delivery_id == told.delivery_id]  # carries it again
        group = mine + [a for a in group if a.delivery_id != told.delivery_id]
    lead = group[0]
    if told and told.status in {"sending", "sent"} and told.delivery_id != lead.delivery_id:
        await _has_story(run, key, group, told, spread, settings)
        return
    decision = decide(lead, settings, run.now, run.sent_at_or_above(key[1], lead.severity))
    if decision.action == "send":
        args = (run.sessions, key, lead.delivery_id, "sending", int(lead.severity))
        if await in_db(run.db, _reserve_first, *args):
            message = followup.message(group, spread)
            if await _send_one(run, key, message, group):
                run.sent[key[1]].append(lead.severity)
            return
        decision = _fold(settings)  # another worker sends this story's message
    elif decision.action == "digest":
        args = (run.sessions, key, lead.delivery_id, "digest", int(lead.severity))
        await in_db(run.db, _reserve_first, *args)
    run.routes.extend((a, decision) for a in group)


async def _has_story(
    run: _Pass,
    key: Key,
    group: list[Alert],
    told: told_db.Told,
    spread: told_db.Spread,
    settings: ChannelSettings,
) -> None:
    """New reports of a story the channel has: a follow-up if it matters, else folded."""
    why = followup.reason(told, group, spread, settings) if told.status == "sent" else None
    urgent = followup.urgent(group, told)
    limited = run.sent_at_or_above(key[1], group[0].severity) >= (settings.rate_limit or 1 << 30)
    if why and (urgent or not limited):
        args = (run.sessions, key, run.now, settings.followup_every, urgent)
        if await in_db(run.db, _reserve_followup, *args):
            if await _send_one(run, key, followup.message(group, spread, why), group):
                run.sent[key[1]].append(group[0].severity)
            return
    run.routes.extend((a, _fold(settings)) for a in group)


def _fold(settings: ChannelSettings) -> Decision:
    if settings.also_reported == "off":
        return Decision("drop", "another report of a story already alerted")
    return Decision("fold", "another report of a story already alerted")


def _reserve_first(
    sessions: sessionmaker[Session], key: Key, delivery: int, status: str, severity: int
) -> bool:
    with sessions.begin() as session:
        return told_db.reserve_first(session, key, delivery, status, severity)


def _reserve_followup(
    sessions: sessionmaker[Session], key: Key, now: datetime, every: float, urgent: bool
) -> bool:
    with sessions.begin() as session:
        return told_db.reserve_followup(session, key, now, every, urgent)


async def _send_one(run: _Pass, key: Key, alert: Alert, group: list[Alert]) -> bool:
    followup_ = alert.followup is not None
    try:
        async with asyncio.timeout(SEND_DEADLINE):
            done, errors = await asyncio.to_thread(run.sender.send_to_targets, alert, followup_)
    except DeliveryError as exc:  # the channel is not configured
        await in_db(run.db, _record_failure, run, alert, str(exc), group)
        return False
    except TimeoutError:
        error = f"channel {alert.channel!r}: no answer within {SEND_DEADLINE:g}s"
        await in_db(run.db, _record_failure, run, alert, error, group)
        return False
    if errors:  # the targets that took it are kept, so a retry skips them
        error = f"channel {alert.channel!r}: " + "; ".join(errors)
        alert = replace(alert, targets_done=alert.targets_done | done)
        await in_db(run.db, _record_failure, run, alert, error, group)
        return False
    await in_db(run.db, _mark_sent, run, key, alert, group)
    run.report.folded += sum(a.article_id != alert.article_id for a in group[1:])
    log.info(
        "alert %s sent to %s: story %s, rules %s%s",
        alert.delivery_id,
        alert.channel,
        key[0],
        ", ".join(r[0] for r in alert.story_rules),
        f" (follow-up: {alert.followup})" if alert.followup else "",
    )
    run.report.sent += 1
    metrics.DELIVERIES.labels(channel=alert.channel, outcome="sent").inc()
    return True


def _mark_sent(run: _Pass, key: Key, alert: Alert, group: list[Alert]) -> None:
    """The message's delivery sent, the group's others sent with it, and what the channel
    now knows of the story."""
    with run.sessions.begin() as session:
        repo.mark_sent(session, alert.delivery_id)
        # The lead's other rules were in the message; other reports of the story were
        # counted in it and wait for the digest's "also reported by".
        with_it = f"with alert {alert.delivery_id}"
        repo.set_statuses(
            session,
            [
                repo.Routing(
                    a.delivery_id,
                    "merged" if a.article_id == alert.article_id else "folded",
                    with_it,
                )
                for a in group[1:]
            ],
        )
        spread = told_db.spread(session, [key[0]]).get(key[0]) or told_db.Spread((), (), {})
        rules = [r[0] for r in alert.story_rules]
        told_db.record_told(session, key, int(alert.severity), rules, spread, run.now)
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


def _record_failure(run: _Pass, alert: Alert, error: str, group: list[Alert]) -> None:
    """The message failed: its delivery retries (or is given up), and the group's others
    wait with it, so the retry carries them again."""
    with run.sessions.begin() as session:
        attempts = repo.delivery_attempts(session, alert.delivery_id) + 1
        when = retry_at(attempts, run.now)
        repo.mark_attempt_failed(session, alert.delivery_id, error, when, alert.targets_done)
        status = "pending" if when else "failed"
        why = f"with alert {alert.delivery_id}: {error}"[:2000]
        repo.set_statuses(
            session, [repo.Routing(a.delivery_id, status, why, when) for a in group[1:]]
        )
        if when is None and alert.followup is None:
            told_db.release(
                session, (alert.story_id or alert.article_id, alert.channel), alert.delivery_id
            )
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

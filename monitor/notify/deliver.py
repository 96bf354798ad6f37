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
duplicate, never a lost alert.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import apprise
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.entities import Alert, Severity
from monitor.errors import DeliveryError
from monitor.notify.channels import STDOUT, Channels
from monitor.notify.render import (
    DigestGroup,
    DigestStory,
    Message,
    one_line,
    render,
    render_digest,
    target_of,
)
from monitor.notify.settings import ChannelSettings, MonitorFile
from monitor.store import repository as repo
from monitor.store.models import utcnow
from monitor.workers import worker_id

MAX_ATTEMPTS = 8
DELIVERY_LEASE = 600.0  # a claimed batch must be sent within this, or others take it over
FIRST_RETRY = timedelta(minutes=3)  # 3, 6, 12 ... 192 min: about 6 hours in all
JITTER = 0.2
ADMIN_CHANNEL = "admin"
_FORMATS = {
    "md": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
    "txt": apprise.NotifyFormat.TEXT,
}
log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    to_digest: int = 0
    folded: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Count another drain's outcomes in this report."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.held += other.held
        self.to_digest += other.to_digest
        self.folded += other.folded
        self.errors += other.errors


class Sender:
    """Turns alerts and digests into messages on channels."""

    def __init__(
        self,
        channels: Channels,
        echo: Callable[[str], None],
        settings: MonitorFile | None = None,
        base_url: str | None = None,
        templates: str | None = None,
    ) -> None:
        self.channels = channels
        self.settings = settings or MonitorFile()
        self.base_url = base_url
        self.templates = templates
        self._echo = echo

    def _targets(self, channel: str) -> tuple[str, ...]:
        targets = self.channels.targets(channel)
        if targets is None:
            raise DeliveryError(channel, f"not configured (set MONITOR_CHANNEL_{channel.upper()})")
        return targets

    def send(self, alert: Alert, followup: bool = False) -> None:
        self._send(
            alert.channel,
            lambda target: render(
                alert, target, base_url=self.base_url, followup=followup, templates=self.templates
            ),
        )

    def send_digest(self, channel: str, groups: list[DigestGroup]) -> None:
        self._send(
            channel,
            lambda target: render_digest(channel, groups, target, templates=self.templates),
        )

    def _send(self, channel: str, make: Callable[[str], Message]) -> None:
        for url in self._targets(channel):
            if url == STDOUT:
                message = make("txt")
                self._echo(f"{message.title}\n{message.body}\n")
            else:
                _notify(channel, (url,), make(target_of(url)))

    def test(self, channel: str) -> str:
        """Send a test message to every URL of ``channel``; what the channel answered."""
        answers = []
        for url in self._targets(channel):
            message = Message(
                title=f"monitor: test message for channel {channel}",
                body="If you can read this, alerts can reach this channel.",
                target=target_of(url) if url != STDOUT else "txt",
            )
            if url == STDOUT:
                self._echo(f"{message.title}\n{message.body}\n")
                answers.append("stdout: printed")
                continue
            _notify(channel, (url,), message)
            answers.append(f"{url.split(':', 1)[0]}: accepted")
        return "; ".join(answers)

    def notice(self, title: str, body: str, channel: str = ADMIN_CHANNEL) -> bool:
        """An operational notice (feed down, rate limited); best effort, never raises."""
        urls = self.channels.urls.get(channel)
        if not urls:
            if self.channels.stdout_only:
                self._echo(f"{one_line(title)}\n{body}\n")
                return True
            log.warning(
                "%s (no %s channel: set MONITOR_CHANNEL_%s)", title, channel, channel.upper()
            )
            return False
        try:
            _notify(channel, urls, Message(title=one_line(title), body=body))
        except DeliveryError as exc:
            log.error("notice %r not delivered: %s", title, exc)
            return False
        return True


def _notify(channel: str, urls: tuple[str, ...], message: Message) -> None:
    client = apprise.Apprise()
    for url in urls:
        if not client.add(url):
            raise DeliveryError(channel, "an apprise URL is not valid")
    with apprise.LogCapture(level=logging.WARNING) as logs:  # type: ignore[no-untyped-call]
        ok = client.notify(
            title=message.title, body=message.body, body_format=_FORMATS[message.target]
        )
    if not ok:
        detail = " ".join(logs.getvalue().split())[-500:] or "the channel refused the message"
        raise DeliveryError(channel, detail)


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


async def deliver_due(
    sessions: sessionmaker[Session],
    sender: Sender,
    now: datetime | None = None,
    lease: float = DELIVERY_LEASE,
    budget: float | None = None,
) -> DeliveryReport:
    """Claim due deliveries batch after batch (several processes may run this at once) and
    handle each, until none is due or ``budget`` seconds have passed (None: until none is
    due). One batch per call would leave a backlog that every later alert waits behind."""
    now = now or utcnow()
    report = DeliveryReport()
    started = time.monotonic()
    sent: dict[str, int] = {}
    while budget is None or time.monotonic() - started < budget:
        with sessions.begin() as session:
            alerts = repo.claim_due(session, now, worker_id(), lease)
        if not alerts:
            break
        await _handle_batch(sessions, sender, alerts, now, sent, report)
    return report


async def _handle_batch(
    sessions: sessionmaker[Session],
    sender: Sender,
    alerts: list[Alert],
    now: datetime,
    sent: dict[str, int],
    report: DeliveryReport,
) -> None:
    routes: list[tuple[Alert, Decision]] = []
    for alert in alerts:
        settings = sender.settings.channel(alert.channel)
        if alert.channel not in sent:
            with sessions() as session:
                sent[alert.channel] = repo.sent_since(
                    session, alert.channel, now - timedelta(hours=1)
                )
        decision = decide(alert, settings, now, sent[alert.channel])
        if decision.action in {"send", "followup"}:
            if await _send_one(sessions, sender, alert, decision.action == "followup", now, report):
                sent[alert.channel] += 1
            continue
        routes.append((alert, decision))
    _route(sessions, sender, routes, now, report)


async def _send_one(
    sessions: sessionmaker[Session],
    sender: Sender,
    alert: Alert,
    followup: bool,
    now: datetime,
    report: DeliveryReport,
) -> bool:
    try:
        await asyncio.to_thread(sender.send, alert, followup)
    except DeliveryError as exc:
        _record_failure(sessions, alert, str(exc), now, report)
        return False
    with sessions.begin() as session:
        repo.mark_sent(session, alert.delivery_id)
    log.info(
        "alert %s sent to %s: rule %s, article %s",
        alert.delivery_id,
        alert.channel,
        alert.rule_id,
        alert.article_id,
    )
    report.sent += 1
    metrics.DELIVERIES.labels(channel=alert.channel, outcome="sent").inc()
    return True


ROUTED = {"fold": "folded", "drop": "skipped", "digest": "digest", "hold": "pending"}


def _route(
    sessions: sessionmaker[Session],
    sender: Sender,
    routes: list[tuple[Alert, Decision]],
    now: datetime,
    report: DeliveryReport,
) -> None:
    """Record where a batch's unsent alerts went, in one transaction: after a cold start
    thousands are folded or digested, and a commit each made the drain crawl."""
    if not routes:
        return
    hour = now.replace(minute=0, second=0, microsecond=0)
    asked: set[str] = set()
    limited: list[str] = []  # channels whose rate-limit notice is ours to send
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
    for alert, decision in routes:
        metrics.DELIVERIES.labels(channel=alert.channel, outcome=ROUTED[decision.action]).inc()
        if decision.action == "hold":
            report.held += 1
        elif decision.action == "digest":
            report.to_digest += 1
        else:
            report.folded += 1
    for channel in limited:
        sender.notice(
            f"Rate limited: {channel}",
            f"More than {sender.settings.channel(channel).rate_limit} alerts this hour; "
            "the rest go to the next digest.",
            channel=channel,
        )


def _record_failure(
    sessions: sessionmaker[Session], alert: Alert, error: str, now: datetime, report: DeliveryReport
) -> None:
    with sessions.begin() as session:
        attempts = repo.delivery_attempts(session, alert.delivery_id) + 1
        when = retry_at(attempts, now)
        repo.mark_attempt_failed(session, alert.delivery_id, error, when)
    outcome = "failed" if when is None else "retry"
    metrics.DELIVERIES.labels(channel=alert.channel, outcome=outcome).inc()
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


async def send_digest(
    sessions: sessionmaker[Session], sender: Sender, channel: str, scheduled_for: datetime
) -> int | None:
    """The digest of ``channel`` for one scheduled slot, sent once across all processes.
    Returns how many items it held (0: nothing to say, nothing sent), None if another
    process had the slot already."""
    with sessions.begin() as session:
        digest_id = repo.claim_digest(session, channel, scheduled_for)
    if digest_id is None:
        return None
    with sessions() as session:
        items = repo.digest_items(session, channel)
        groups = _groups(session, items)
    ids = [alert.delivery_id for alert, _ in items]
    error = None
    if items:
        try:
            await asyncio.to_thread(sender.send_digest, channel, groups)
        except DeliveryError as exc:
            error = str(exc)
            log.error("digest for %s not sent (items stay queued): %s", channel, exc)
    with sessions.begin() as session:
        repo.finish_digest(session, digest_id, ids, error)
    return len(items)


@dataclass
class _Entry:
    alert: Alert
    headline: str
    source: str
    url: str
    also: list[str] = field(default_factory=list)


def _groups(session: Session, items: list[tuple[Alert, str]]) -> list[DigestGroup]:
    """Stories by rule (most severe first); another outlet's copy becomes "also reported
    by" under its story, even when the story itself was alerted earlier."""
    entries: dict[tuple[str, int], _Entry] = {}
    for alert, status in items:
        key = (alert.rule_id, alert.story_id or alert.article_id)
        entry = entries.get(key)
        if entry is None:
            first = (
                repo.story_headline(session, alert.story_id)
                if status == "folded" and alert.story_id is not None
                else None
            )
            headline, source, url = first or (alert.headline, alert.source, alert.url)
            entry = entries[key] = _Entry(alert, headline, source, url)
        if status == "folded":
            entry.also.append(alert.source)
    by_rule: dict[tuple[int, str], list[_Entry]] = {}
    for entry in entries.values():
        by_rule.setdefault((int(entry.alert.severity), entry.alert.rule_id), []).append(entry)
    groups = [
        DigestGroup(
            group[0].alert.severity.name,
            group[0].alert.rule_name,
            tuple(
                DigestStory(
                    one_line(e.headline),
                    one_line(e.source),
                    e.url,
                    _published(e.alert),
                    tuple(dict.fromkeys(e.also)),
                )
                for e in group
            ),
        )
        for group in sorted(by_rule.values(), key=lambda g: -int(g[0].alert.severity))
    ]
    return groups


def _published(alert: Alert) -> str:
    return alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "unknown"

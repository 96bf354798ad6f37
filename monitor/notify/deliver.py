"""Send due alerts, one delivery (hit x channel) at a time, and record each result.

A delivery is marked sent only after its channel accepted it; a failure is retried with
exponential backoff until MAX_ATTEMPTS, then marked failed. Each delivery is tried on its
own, so one broken channel never holds up another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import apprise
from sqlalchemy.orm import Session, sessionmaker

from monitor.entities import Alert
from monitor.errors import DeliveryError
from monitor.notify.channels import STDOUT, Channels
from monitor.notify.render import Message, one_line, render
from monitor.store import repository as repo
from monitor.store.models import utcnow

MAX_ATTEMPTS = 5
ADMIN_CHANNEL = "admin"
FIRST_RETRY = timedelta(minutes=1)
log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Sender:
    """Turns one alert into one message on one channel."""

    def __init__(self, channels: Channels, echo: Callable[[str], None]) -> None:
        self.channels = channels
        self._echo = echo

    def send(self, alert: Alert) -> None:
        targets = self.channels.targets(alert.channel)
        if targets is None:
            key = f"MONITOR_CHANNEL_{alert.channel.upper()}"
            raise DeliveryError(alert.channel, f"not configured (set {key})")
        message = render(alert)
        if targets == (STDOUT,):
            self._echo(f"{message.title}\n{message.body}\n")
            return
        _notify(alert.channel, targets, message)

    def notice(self, title: str, body: str) -> bool:
        """An operational notice (feed down, recovered) to the `admin` channel, if there is
        one; best effort, never raises. Returns whether it was sent."""
        urls = self.channels.urls.get(ADMIN_CHANNEL)
        if not urls:
            log.warning("%s (no admin channel: set MONITOR_CHANNEL_ADMIN)", title)
            return False
        try:
            _notify(ADMIN_CHANNEL, urls, Message(title=one_line(title), body=body))
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
            title=message.title, body=message.body, body_format=apprise.NotifyFormat.TEXT
        )
    if not ok:
        detail = " ".join(logs.getvalue().split())[-500:] or "the channel refused the message"
        raise DeliveryError(channel, detail)


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed tries; None once they are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay: timedelta = FIRST_RETRY * (2 ** (attempts - 1))
    return now + delay


async def deliver_due(sessions: sessionmaker[Session], sender: Sender) -> DeliveryReport:
    report = DeliveryReport()
    with sessions() as session:
        alerts = repo.due_alerts(session, utcnow())
    for alert in alerts:
        try:
            await asyncio.to_thread(sender.send, alert)
        except DeliveryError as exc:
            _record_failure(sessions, alert, str(exc), report)
            continue
        with sessions.begin() as session:
            repo.mark_sent(session, alert.delivery_id)
        report.sent += 1
    return report


def _record_failure(
    sessions: sessionmaker[Session], alert: Alert, error: str, report: DeliveryReport
) -> None:
    with sessions.begin() as session:
        attempts = repo.delivery_attempts(session, alert.delivery_id) + 1
        when = retry_at(attempts, utcnow())
        repo.mark_attempt_failed(session, alert.delivery_id, error, when)
    if when is None:
        report.failed += 1
        log.error("alert %s to %s failed for good: %s", alert.delivery_id, alert.channel, error)
    else:
        report.retrying += 1
        log.warning(
            "alert %s to %s failed (attempt %d): %s",
            alert.delivery_id,
            alert.channel,
            attempts,
            error,
        )
    report.errors.append(error)

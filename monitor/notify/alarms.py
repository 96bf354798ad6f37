"""Delivery failures told to the admin: a channel failing for longer than
``MONITOR_CHANNEL_FAILING_AFTER`` (once, and once more when it takes an alert again) and
alerts given up after their last attempt (batched: one message for those given up within
``MONITOR_NOTICE_BATCH``). Each runs in the transaction that records the delivery, so the
notice is queued exactly when the failure is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from monitor.config.settings import AdminSettings
from monitor.entities import Alert
from monitor.store import repository as repo
from monitor.store.notices import ADMIN_CHANNEL

CHANNEL_FAILING = "channel_failing"


def delivery_failed(
    session: Session,
    alert: Alert,
    error: str,
    attempts: int,
    gave_up: bool,
    now: datetime,
    admin: AdminSettings,
) -> None:
    """Record a failed attempt's meaning for the admin."""
    after = admin.channel_failing_after
    if repo.raise_condition(session, CHANNEL_FAILING, alert.channel, now, after, error[:2000]):
        repo.queue_notice(
            session,
            ADMIN_CHANNEL,
            f"Channel failing: {alert.channel}",
            f"Alerts to channel {alert.channel!r} have failed for more than {after / 60:g} "
            f"minutes; they are retried with backoff.\nLast answer: {error}",
        )
    if gave_up:
        repo.queue_notice(
            session,
            ADMIN_CHANNEL,
            f"Alert given up: {alert.headline[:150]}",
            f"Rule {alert.rule_id}, channel {alert.channel!r}: not delivered after {attempts} "
            f"attempts. Last answer: {error}\n"
            "`monitor alerts retry --failed` (or the Alerts page) queues it again.",
            kind="given_up",
            delay=admin.batch,
            now=now,
        )


def delivery_sent(session: Session, channel: str) -> None:
    """A channel took an alert: if it had been announced as failing, say it recovered."""
    if repo.clear_condition(session, CHANNEL_FAILING, channel):
        repo.queue_notice(
            session,
            ADMIN_CHANNEL,
            f"Channel recovered: {channel}",
            f"Channel {channel!r} takes alerts again; those that waited are being sent.",
        )

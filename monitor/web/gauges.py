"""Gauges read from the database at scrape time, so every replica reports the shared truth
about the outbox and feeds, not its own share. Feed states are counted by the function
`monitor feeds health` uses (``repo.feed_state``), so both always agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.config.settings import default
from monitor.store import repository as repo
from monitor.store.models import DeliveryRow


class DatabaseGauges(Collector):
    """Outbox depth, oldest undelivered alert, feeds by state: read at each scrape."""

    def __init__(
        self, sessions: sessionmaker[Session], down_after: float = default("feed_down_after")
    ) -> None:
        self.sessions = sessions
        self.down_after = down_after

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.sessions() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(DeliveryRow.created_at)).where(
                    DeliveryRow.status == "pending"
                )
            ).one()
            states = repo.feed_state_counts(session, self.down_after, datetime.now(UTC))
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - oldest).total_seconds()
        yield GaugeMetricFamily("monitor_outbox_depth", "Alerts waiting to be sent.", pending)
        yield GaugeMetricFamily(
            "monitor_oldest_undelivered_seconds", "Age of the oldest alert not yet sent.", age
        )
        feeds = GaugeMetricFamily(
            "monitor_feeds",
            "Active feeds by state (new, ok, failing, down, disabled), as `feeds health` says.",
            labels=["state"],
        )
        for state, count in states.items():
            feeds.add_metric([state], count)
        yield feeds
        yield GaugeMetricFamily(
            "monitor_feeds_down",
            "Feeds down (failing for MONITOR_FEED_DOWN_AFTER) or disabled.",
            states["down"] + states["disabled"],
        )

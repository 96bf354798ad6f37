"""Gauges read from the database at scrape time, so every replica reports the shared truth
about the outbox and feeds, not its own share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import DeliveryRow, FeedRow


class DatabaseGauges(Collector):
    """Outbox depth, oldest undelivered alert, feeds down: read at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.sessions() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(DeliveryRow.created_at)).where(
                    DeliveryRow.status == "pending"
                )
            ).one()
            down = session.scalar(
                select(func.count()).where(FeedRow.active, FeedRow.down_since.is_not(None))
            )
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - oldest).total_seconds()
        yield GaugeMetricFamily("monitor_outbox_depth", "Alerts waiting to be sent.", pending)
        yield GaugeMetricFamily(
            "monitor_oldest_undelivered_seconds", "Age of the oldest alert not yet sent.", age
        )
        yield GaugeMetricFamily("monitor_feeds_down", "Feeds failing right now.", down or 0)

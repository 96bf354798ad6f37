"""Prometheus metrics: counters the pipeline and the sender bump as work happens, and
gauges read from the database at scrape time (so every replica reports the shared truth
about the outbox and feeds, not its own share).

Counters are per process, as Prometheus expects; sum them across replicas in queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import DeliveryRow, FeedRow

REGISTRY = CollectorRegistry(auto_describe=True)
POLLS = Counter("monitor_polls", "Feed polls by outcome.", ["outcome"], registry=REGISTRY)
FETCH_SECONDS = Histogram(
    "monitor_feed_fetch_seconds",
    "Time to fetch a feed (request to last byte).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
ITEMS = Counter("monitor_feed_items", "Items read from feeds.", registry=REGISTRY)
NEW_ARTICLES = Counter(
    "monitor_new_articles", "Articles stored for the first time.", registry=REGISTRY
)
EXTRACTION_FAILURES = Counter(
    "monitor_extraction_failures",
    "Article pages whose text could not be had (the feed text was used).",
    registry=REGISTRY,
)
HITS = Counter("monitor_hits", "Rule hits on new articles.", ["rule"], registry=REGISTRY)
DELIVERIES = Counter(
    "monitor_deliveries",
    "Delivery attempts by channel and outcome (sent, retry, failed, digest, skipped...).",
    ["channel", "outcome"],
    registry=REGISTRY,
)


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

"""Prometheus counters the pipeline and the sender bump as work happens. The gauges read
from the database at scrape time live with the web app (``monitor.web.gauges``).

Counters are per process, as Prometheus expects; sum them across replicas in queries."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, ProcessCollector

from monitor import __version__

REGISTRY = CollectorRegistry(auto_describe=True)
# process_resident_memory_bytes, process_cpu_seconds_total, open file descriptors, start time.
ProcessCollector(registry=REGISTRY)
BUILD = Info("monitor_build", "The running version (monitor_build_info).", registry=REGISTRY)
BUILD.info({"version": __version__, "python": platform.python_version()})
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
TALLIED = Counter(
    "monitor_feed_tallies",
    "What feeds offered that was not kept as an article of its own, or was guessed, by kind: "
    "skipped, merged, republished, revised, charset_guessed, links_unresolved.",
    ["kind"],
    registry=REGISTRY,
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
WEBSUB_NOTIFICATIONS = Counter(
    "monitor_websub_notifications",
    "What WebSub hubs pushed, by outcome: accepted, bad_signature (refused: not signed with "
    "the subscription's secret), unknown (no such subscription), unsubscribed, too_large.",
    ["outcome"],
    registry=REGISTRY,
)
WEBSUB_REQUESTS = Counter(
    "monitor_websub_requests",
    "Subscribe and unsubscribe requests to WebSub hubs, by mode and outcome (accepted, error).",
    ["mode", "outcome"],
    registry=REGISTRY,
)

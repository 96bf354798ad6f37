"""When a feed is polled next, from what its last poll learned. Pure functions.

- success or 304: the feed's interval, adapted to how often it publishes (when ``adaptive``),
  and never sooner than the server's Cache-Control max-age or Retry-After;
- failure: exponential backoff from the interval, doubling per consecutive error, up to
  ``backoff_max``, and never sooner than Retry-After;
- 410 Gone: never (the feed is disabled).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from datetime import datetime

from monitor.entities import FeedRef

ADAPTIVE_SAMPLE = 10  # newest entries whose publication gaps set the pace
ADAPTIVE_FACTOR = 0.5  # poll twice per typical gap between items


def adaptive_interval(feed: FeedRef, published: Sequence[datetime]) -> float:
    """Half the median gap between the newest entries, within the feed's bounds."""
    dates = sorted({d for d in published}, reverse=True)[:ADAPTIVE_SAMPLE]
    if len(dates) < 2:
        return feed.poll_interval or feed.interval
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(dates)]
    target = float(statistics.median(gaps)) * ADAPTIVE_FACTOR
    return min(max(target, feed.lowest), feed.highest)


def after_success(
    feed: FeedRef, published: Sequence[datetime], server_wait: float | None, ceiling: float
) -> float:
    interval = adaptive_interval(feed, published) if feed.adaptive else feed.interval
    if server_wait:
        interval = max(interval, min(server_wait, ceiling))
    return interval


def after_failure(
    feed: FeedRef, consecutive_errors: int, server_wait: float | None, ceiling: float
) -> float:
    backoff: float = min(ceiling, feed.interval * 2.0 ** max(0, consecutive_errors - 1))
    if server_wait:
        backoff = max(backoff, min(server_wait, ceiling))
    return backoff

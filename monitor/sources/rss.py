"""RSS, Atom and JSON feeds: a conditional GET, the body's hash (for servers that ignore
conditional requests), feedparser, and a permanent redirect that moves the feed."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace

from monitor import metrics
from monitor.entities import FeedRef
from monitor.feeds.fetch import FetchResult
from monitor.feeds.parse import parse_feed
from monitor.sources.base import Net, SourcePoll, fetch_source

log = logging.getLogger(__name__)


class RssSource:
    kind = "rss"

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        started = time.monotonic()
        result = await fetch_source(net, feed)
        metrics.FETCH_SECONDS.observe(time.monotonic() - started)
        kept = SourcePoll(
            result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            max_age=result.max_age,
            moved_to=_moved(feed, result),
        )
        if result.not_modified:
            return replace(kept, changed=False, note="not modified")
        digest = hashlib.sha256(result.content).hexdigest()
        if digest == feed.content_hash:  # a server that ignores conditional requests
            return replace(kept, changed=False, note="unchanged")
        parsed = parse_feed(result.content, result.url, result.content_type)
        return replace(
            kept,
            entries=parsed.entries,
            skipped=parsed.skipped,
            tallies=parsed.tallies,
            problem=parsed.problem,
            content_hash=digest,
        )


def _moved(feed: FeedRef, result: FetchResult) -> str | None:
    if result.permanent_url and result.permanent_url != feed.address:
        log.warning(
            "feed %s moved permanently: %s -> %s", feed.name, feed.address, result.permanent_url
        )
        return result.permanent_url
    return None

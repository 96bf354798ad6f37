"""RSS, Atom and JSON feeds: a conditional GET, the body's hash (for servers that ignore
conditional requests), feedparser, and a permanent redirect that moves the feed; the hub a
feed advertises (WebSub), and what that hub pushed, read in place of a fetch."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import Any

from monitor import metrics
from monitor.entities import FeedEntry, FeedRef
from monitor.errors import ParseError
from monitor.feeds.fetch import FetchResult
from monitor.feeds.parse import ParsedFeed, parse_feed
from monitor.sources.base import Net, SourcePoll, fetch_source

log = logging.getLogger(__name__)


class RssSource:
    kind = "rss"

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        if feed.pushed:
            return read_pushed(feed)
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
            state=_hub(feed, result, parsed),
        )


def _hub(feed: FeedRef, result: FetchResult, parsed: ParsedFeed) -> dict[str, Any]:
    """The WebSub hub the feed advertises (Link headers first, then the document), kept on
    the feed row for the subscriber; said only when it changed."""
    hub = result.hub or parsed.hub
    topic = (result.topic or parsed.topic or feed.address) if hub else None
    found = {"hub": hub, "topic": topic} if hub else None
    if found == feed.state.get("websub"):
        return {}
    return {**feed.state, "websub": found}


def read_pushed(feed: FeedRef) -> SourcePoll:
    """What the feed's hub pushed since the last poll, read as a fetched body would be: a
    body that is no feed is left out and said (the hub signed it, but it is still only
    text from the web)."""
    entries: dict[str, FeedEntry] = {}
    skipped, problems = 0, []
    tallies: dict[str, int] = {}
    for push in feed.pushed:
        try:
            parsed = parse_feed(push.body, feed.address, push.content_type)
        except ParseError as exc:
            skipped += 1
            problems.append(f"a pushed body: {exc}")
            continue
        entries.update((entry.guid, entry) for entry in parsed.entries)
        skipped += parsed.skipped
        problems += [parsed.problem] if parsed.problem else []
        for kind, n in parsed.tallies.items():
            tallies[kind] = tallies.get(kind, 0) + n
    return SourcePoll(
        None,
        tuple(entries.values()),
        note=f"pushed by its hub ({len(feed.pushed)})",
        skipped=skipped,
        tallies=tallies,
        problem="; ".join(problems) or None,
    )


def _moved(feed: FeedRef, result: FetchResult) -> str | None:
    if result.permanent_url and result.permanent_url != feed.address:
        log.warning(
            "feed %s moved permanently: %s -> %s", feed.name, feed.address, result.permanent_url
        )
        return result.permanent_url
    return None

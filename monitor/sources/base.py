"""The seam between the pipeline and the kinds of source it reads (RSS/Atom today).

A source is chosen by its feed's ``kind`` (``monitor.sources.SOURCES``), the way httpx
chooses a transport by URL: the pipeline asks it to ``poll`` a feed with the state stored
on the feed row and gets back the entries it offers now and what to keep for next time.
Which entries are new, the per-article stages, storing and alerting are the pipeline's,
the same for every kind. A source raises ``FetchError`` or ``ParseError`` (from
``monitor.errors``) when the feed cannot be read; the pipeline decides what that means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from monitor.config import FetchSettings
from monitor.entities import FeedEntry, FeedRef
from monitor.feeds.fetch import Check, FetchResult, fetch
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.hosts import HostLimiter


@dataclass(frozen=True)
class Net:
    """What a source fetches with: the shared feed client, the per-host limits, and the
    SSRF guard for every hop a source did not get from the operator."""

    client: httpx.AsyncClient
    limiter: HostLimiter
    settings: FetchSettings
    guard: LinkGuard = field(default_factory=LinkGuard)

    def redirect_check(self, feed: FeedRef) -> Check:
        """Vets every hop of a feed's fetch: the configured feed's own host and port and the
        allow-list may be private; anywhere else a redirect leads must be public."""
        origin = host_port(feed.url)
        return lambda hop: self.guard.check(hop, origin)


async def fetch_source(
    net: Net, feed: FeedRef, url: str | None = None, conditional: bool = True
) -> FetchResult:
    """One GET of a source (its address, or another page of it), bounded and polite like
    every feed fetch, every redirect hop vetted; conditional on the feed's validators."""
    return await fetch(
        net.client,
        url or feed.address,
        max_bytes=net.settings.max_feed_bytes,
        deadline=net.settings.timeout,
        etag=feed.etag if conditional else None,
        last_modified=feed.last_modified if conditional else None,
        limiter=net.limiter,
        check=net.redirect_check(feed),
    )


@dataclass(frozen=True)
class SourcePoll:
    """What one poll of a source found."""

    status: int | None
    entries: tuple[FeedEntry, ...] = ()
    # False when the source said nothing new (304, a body seen before): no entries to
    # look at, and the feed's pace is left as it was.
    changed: bool = True
    note: str | None = None  # "not modified", "unchanged"
    skipped: int = 0  # items the source could not turn into entries
    tallies: Mapping[str, int] = field(default_factory=dict)  # entities.TALLIES, this poll
    problem: str | None = None  # read despite this (a malformed but readable body)
    max_age: float | None = None  # the server asked us not to come back sooner
    moved_to: str | None = None  # a permanent move: fetch here from now on
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    # The kind's own state, kept on the feed row as JSON and handed back as
    # ``FeedRef.state`` next time (a new kind keeps what it needs here, no migration).
    state: Mapping[str, Any] = field(default_factory=dict)


class Source(Protocol):
    """One kind of source. Stateless: what it must remember goes in ``SourcePoll.state``."""

    kind: str

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll: ...

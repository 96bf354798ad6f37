"""Article pages: fetched through the SSRF guard with the page limits, then extracted in
the worker processes. Used by the pipeline's page stages and by the web playground."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from monitor.config import FetchSettings
from monitor.extract import ExtractedPage
from monitor.feeds.fetch import FetchResult, fetch
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.hosts import HostLimiter

Extract = Callable[[bytes, str | None], Awaitable[ExtractedPage | None]]


@dataclass(frozen=True)
class Pages:
    client: httpx.AsyncClient  # the guarded client: every connection is checked again
    limiter: HostLimiter
    guard: LinkGuard
    settings: FetchSettings
    extract: Extract

    async def fetch(self, url: str, origin: str | None) -> FetchResult:
        """``url`` as a link found on ``origin`` (a feed's address): private addresses only
        on the origin's own host and port or the allow-list. No origin: public only."""
        own = host_port(origin) if origin else None
        return await fetch(
            self.client,
            url,
            max_bytes=self.settings.max_page_bytes,
            deadline=self.settings.timeout,
            limiter=self.limiter,
            check=lambda hop: self.guard.check(hop, own),
        )

    async def text(self, url: str) -> ExtractedPage | None:
        """A URL typed by a person (the playground): fetched with no feed origin."""
        page = await self.fetch(url, None)
        return await self.extract(page.content, page.url)

"""Politeness per host: at most N requests at a time and a least delay between starts.

One limiter is shared by feeds and pages, so 200 feeds of one outlet never hammer it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


class HostLimiter:
    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with semaphore:
            now = time.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + self.delay
            if start > now:
                await asyncio.sleep(start - now)
            yield

"""A source added by its address, as `monitor feeds add` and the dashboard's feeds page do
it: a Telegram channel's t.me address is a telegram entry, read once to check it; anything
else is discovered (the feed itself, or the one a site advertises or has at a common path)
and polled once. The address typed may be a private host, as a configured feed's may; what
a page advertises goes through the SSRF guard like any link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from monitor.config import FetchSettings
from monitor.feeds.discover import Found, discover
from monitor.feeds.fetch import fetch, make_client
from monitor.feeds.guard import host_port
from monitor.sources.telegram import parse_preview, preview_url

TELEGRAM_HOSTS = ("t.me", "telegram.me")


@dataclass(frozen=True)
class Addition:
    entry: dict[str, object]  # what feeds.yaml gets
    found: Found


async def addition(
    url: str,
    settings: FetchSettings,
    *,
    name: str | None = None,
    tags: Sequence[str] = (),
    language: str | None = None,
    interval: str | None = None,
    kind: str | None = None,
) -> Addition:
    """The feeds.yaml entry for ``url``, checked by reading it once (MonitorError if not)."""
    telegram = kind == "telegram" or (kind is None and urlsplit(url).hostname in TELEGRAM_HOSTS)
    client = make_client(settings.user_agent, 2, guarded=True, allowed={host_port(url)})
    async with client:
        found = await (
            _telegram(client, url, settings) if telegram else discover(client, url, settings)
        )
    default = urlsplit(found.url).path.rstrip("/").rsplit("/", 1)[-1] if telegram else None
    entry: dict[str, object] = {
        "name": name or default or urlsplit(found.url).hostname or found.url
    }
    if telegram:
        entry["kind"] = "telegram"
    entry["url"] = found.url
    extra = {"language": language, "interval": interval, "tags": list(tags) or None}
    entry |= {key: value for key, value in extra.items() if value}
    return Addition(entry, found)


async def _telegram(client: httpx.AsyncClient, url: str, settings: FetchSettings) -> Found:
    """A channel's preview, read once: its address and how many posts it shows."""
    address = preview_url(url)
    page = await fetch(
        client, address, max_bytes=settings.max_feed_bytes, deadline=settings.timeout
    )
    return Found(address, len(parse_preview(page.content, page.url).posts), (address,))

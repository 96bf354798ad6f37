"""Asking a hub: one form POST (subscribe or unsubscribe), its answer read no further than
an error message needs. The hub's address came from a feed: vetted like any link."""

from __future__ import annotations

import asyncio

import httpx

from monitor.errors import BlockedDestination
from monitor.sources import Net

ANSWER_BYTES = 2000  # of a refusal's body, for the feeds page


async def ask(net: Net, hub: str, origin: str, form: dict[str, str]) -> str | None:
    """POST ``form`` to ``hub``; None when it accepted (2xx), else why not. ``origin`` is
    the feed's ``host:port``: the only private address the hub may be at, besides the
    allow-list."""
    try:
        await net.guard.check(hub, origin)
        async with (
            asyncio.timeout(net.settings.timeout),
            net.client.stream("POST", hub, data=form, follow_redirects=False) as response,
        ):
            if 200 <= response.status_code < 300:
                return None
            said = await _some(response)
            return f"the hub answered HTTP {response.status_code}: {said}".strip(": ")
    except BlockedDestination as exc:
        return str(exc)
    except TimeoutError:
        return f"the hub did not answer within {net.settings.timeout:g}s"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


async def _some(response: httpx.Response) -> str:
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= ANSWER_BYTES:
            break
    return read[:ANSWER_BYTES].decode("utf-8", "replace").strip()

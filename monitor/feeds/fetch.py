"""HTTP fetching: an overall deadline (connect, headers and body together), a body cap
counted after decompression, conditional GET, redirects followed one hop at a time (each
hop checked), per-host politeness, and what the server said about when to come back."""

from __future__ import annotations

import asyncio
import email.utils
import re
import ssl
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import httpx

from monitor.errors import FetchError
from monitor.feeds.decode import Decoder, EncodingRefused
from monitor.feeds.hosts import HostLimiter
from monitor.feeds.netguard import GuardedBackend
from monitor.feeds.pool import LinearPool
from monitor.feeds.streams import QuickBackend

MAX_REDIRECTS = 5
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_CODES = frozenset({301, 308})
ALLOWED_SCHEMES = ("http", "https")
Check = Callable[[str], Awaitable[None]]
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    permanent_url: str | None = None  # where every redirect was permanent: the new address
    max_age: float | None = None  # Cache-Control max-age: do not come back sooner
    # WebSub discovery by HTTP Link header (rel="hub", rel="self"): before the document's
    hub: str | None = None
    topic: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    deadline: float,
    etag: str | None = None,
    last_modified: str | None = None,
    check: Check | None = None,
    limiter: HostLimiter | None = None,
) -> FetchResult:
    """GET ``url``; ``check`` vets every hop (it raises to refuse)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    clock = _Deadline(deadline)
    try:
        return await _follow(client, url, headers, max_bytes, check, limiter, clock)
    except TimeoutError:
        raise FetchError(url, f"no complete answer within {deadline:g}s") from None
    except httpx.HTTPError as exc:
        raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc


class _Deadline:
    """One deadline for all hops of a request, started when the first hop gets its host slot:
    waiting for our own politeness limit is not the server's slowness."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at: float | None = None

    def timeout(self) -> asyncio.Timeout:
        loop = asyncio.get_running_loop()
        if self.at is None:
            self.at = loop.time() + self.seconds
        return asyncio.timeout_at(self.at)


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    check: Check | None,
    limiter: HostLimiter | None,
    clock: _Deadline,
) -> FetchResult:
    permanent = True
    for hop in range(MAX_REDIRECTS + 1):
        if not url.lower().startswith(tuple(f"{s}://" for s in ALLOWED_SCHEMES)):
            raise FetchError(url, "only http and https URLs are fetched")
        if check is not None:
            await check(url)
        async with (
            _slot(limiter, url),
            clock.timeout(),
            client.stream("GET", url, headers=headers, follow_redirects=False) as response,
        ):
            location = response.headers.get("location")
            if response.status_code in REDIRECT_CODES and location:
                permanent = permanent and response.status_code in PERMANENT_CODES
                url = urljoin(url, location)
                continue
            if response.status_code >= 400 or response.status_code == 304:
                return _status_only(response, url, headers)
            content = await _read_capped(response, url, max_bytes)
            return FetchResult(
                url=url,
                status=response.status_code,
                content=content,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type", ""),
                permanent_url=url if hop and permanent else None,
                max_age=max_age(response.headers.get("cache-control")),
                hub=_linked(response, "hub"),
                topic=_linked(response, "self"),
            )
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")


def _linked(response: httpx.Response, rel: str) -> str | None:
    """The http(s) URL a Link header gives for ``rel``, made absolute."""
    try:
        target = response.links.get(rel, {}).get("url")
    except ValueError:  # a Link header too broken to read is no link
        return None
    if not target:
        return None
    url = urljoin(str(response.url), target)
    return url if url.lower().startswith(("http://", "https://")) else None


def _status_only(response: httpx.Response, url: str, headers: dict[str, str]) -> FetchResult:
    if response.status_code == 304:
        return FetchResult(
            url,
            304,
            b"",
            headers.get("If-None-Match"),
            headers.get("If-Modified-Since"),
            max_age=max_age(response.headers.get("cache-control")),
        )
    raise FetchError(
        url,
        f"HTTP {response.status_code}",
        response.status_code,
        retry_after=retry_after(response.headers.get("retry-after")),
    )


def _slot(limiter: HostLimiter | None, url: str):  # type: ignore[no-untyped-def]
    from contextlib import nullcontext

    return limiter.slot(url) if limiter else nullcontext()


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it passes ``max_bytes``: decoded here in bounded
    steps (``decode``), giving the loop a turn between compressed network chunks."""
    try:
        decoder = Decoder(response.headers.get("content-encoding", ""))
    except EncodingRefused as exc:
        raise FetchError(url, str(exc), response.status_code) from None
    chunks: list[bytes] = []
    size = 0

    def take(pieces: Iterable[bytes]) -> None:
        nonlocal size
        for piece in pieces:
            size += len(piece)
            if size > max_bytes:
                raise FetchError(url, f"body larger than {max_bytes} bytes", response.status_code)
            chunks.append(piece)

    try:
        async for raw in response.aiter_raw():
            take(decoder.feed(raw))
            if decoder.layers:  # a compressed chunk may decode to many steps
                await asyncio.sleep(0)
        take(decoder.flush())
    except zlib.error as exc:
        raise FetchError(url, f"body cannot be decoded: {exc}", response.status_code) from None
    return b"".join(chunks)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def max_age(cache_control: str | None) -> float | None:
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def make_client(
    user_agent: str,
    concurrency: int,
    guarded: bool = False,
    allowed: Iterable[str] = (),
    *,
    guard_connect: bool | None = None,
) -> httpx.AsyncClient:
    """A client for feeds (``guarded=False``) or for article pages (``guarded=True``).
    Either connects only to public addresses or ``allowed`` host[:port]s when
    ``guard_connect`` (default: ``guarded``): the service's feed client allows the
    configured feeds' own hosts, so a feed's redirect cannot reach an internal one."""
    if guard_connect is None:
        guard_connect = guarded
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx has no public hook for the pool; the transport's own is replaced by one with a
    # linear bookkeeping pass, and for pages with the guarded network backend.
    transport._pool = LinearPool(
        ssl_context=(
            ssl.create_default_context() if guarded else httpx.create_ssl_context(trust_env=False)
        ),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allowed) if guard_connect else QuickBackend(),
    )
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        transport=transport,
        timeout=httpx.Timeout(30.0),
        trust_env=False,
    )

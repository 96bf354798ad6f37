"""HTTP fetching with an overall deadline, a body cap counted after decompression,
conditional GET and redirects followed one hop at a time (so each hop can be checked)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from monitor.errors import FetchError

MAX_REDIRECTS = 5
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
Check = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""

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
) -> FetchResult:
    """GET ``url``; ``check`` vets every hop (it raises to refuse)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(deadline):
            return await _follow(client, url, headers, max_bytes, check)
    except TimeoutError:
        raise FetchError(url, f"no complete answer within {deadline:g}s") from None
    except httpx.HTTPError as exc:
        raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    check: Check | None,
) -> FetchResult:
    for _ in range(MAX_REDIRECTS + 1):
        if check is not None:
            await check(url)
        async with client.stream("GET", url, headers=headers, follow_redirects=False) as response:
            location = response.headers.get("location")
            if response.status_code in REDIRECT_CODES and location:
                url = urljoin(url, location)
                continue
            if response.status_code == 304:
                return FetchResult(
                    url, 304, b"", headers.get("If-None-Match"), headers.get("If-Modified-Since")
                )
            if response.status_code >= 400:
                raise FetchError(url, f"HTTP {response.status_code}", response.status_code)
            content = await _read_capped(response, url, max_bytes)
            return FetchResult(
                url=url,
                status=response.status_code,
                content=content,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type", ""),
            )
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():  # decoded: the cap counts decompressed bytes
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(url, f"body larger than {max_bytes} bytes", response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def make_client(user_agent: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=limits,
        timeout=httpx.Timeout(30.0),
        trust_env=False,
    )

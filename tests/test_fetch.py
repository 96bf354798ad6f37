import asyncio
import time

import httpx
import pytest

from monitor.errors import FetchError
from monitor.feeds.fetch import fetch, make_client
from tests.servers import HTTPServer, Route, http_server


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def get(server: HTTPServer, path: str, **kw):  # type: ignore[no-untyped-def]
    async with make_client("test-agent", 4) as client:
        kw.setdefault("max_bytes", 1_000_000)
        kw.setdefault("deadline", 5.0)
        return await fetch(client, server.url(path), **kw)


def test_conditional_get_gets_304_and_sends_validators() -> None:
    with http_server() as server:
        server.routes["/feed"] = Route(b"<rss/>", etag='"v1"')
        first = run(get(server, "/feed"))
        assert first.status == 200 and first.etag == '"v1"' and first.content == b"<rss/>"
        second = run(get(server, "/feed", etag=first.etag))
        assert second.not_modified
        assert server.requests[-1].headers["If-None-Match"] == '"v1"'
        assert server.requests[-1].headers["User-Agent"] == "test-agent"


def test_http_errors_carry_status_and_url() -> None:
    with http_server() as server, pytest.raises(FetchError) as err:
        run(get(server, "/missing"))
    assert err.value.status == 404
    assert str(err.value) == f"fetch: {server.url('/missing')}: HTTP 404"


def test_body_cap_counts_decompressed_bytes() -> None:
    with http_server() as server:
        server.routes["/bomb"] = Route(b"a" * 2_000_000, gzip=True)  # ~2 KB on the wire
        with pytest.raises(FetchError, match="body larger than 100000 bytes"):
            run(get(server, "/bomb", max_bytes=100_000))


def test_overall_deadline_cuts_off_a_trickling_server() -> None:
    with http_server() as server:
        server.routes["/slow"] = Route(b"x" * 200, trickle=0.05)  # 10 s in all
        started = time.monotonic()
        with pytest.raises(FetchError, match="no complete answer within 1s"):
            run(get(server, "/slow", deadline=1.0))
        assert time.monotonic() - started < 3


def test_redirects_are_followed_and_each_hop_checked() -> None:
    with http_server() as server:
        server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
        server.routes["/new"] = Route(b"here")
        seen: list[str] = []

        async def check(url: str) -> None:
            seen.append(url)

        result = run(get(server, "/old", check=check))
        assert result.content == b"here" and result.url == server.url("/new")
        assert seen == [server.url("/old"), server.url("/new")]


def test_redirect_loops_end() -> None:
    with http_server() as server:
        server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
        server.routes["/b"] = Route(status=302, headers={"Location": "/a"})
        with pytest.raises(FetchError, match="more than 5 redirects"):
            run(get(server, "/a"))


def test_connection_refused_is_a_fetch_error() -> None:
    async def go() -> None:
        async with make_client("t", 1) as client:
            await fetch(client, "http://127.0.0.1:9/x", max_bytes=10, deadline=5)

    with pytest.raises(FetchError, match=r"http://127\.0\.0\.1:9/x: ConnectError"):
        run(go())


def test_client_ignores_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with http_server() as server:
        server.routes["/x"] = Route(b"direct")
        assert run(get(server, "/x")).content == b"direct"
    assert isinstance(make_client("t", 1), httpx.AsyncClient)


def test_retry_after_and_max_age_parsing() -> None:
    from datetime import UTC, datetime

    from monitor.feeds.fetch import max_age, retry_after

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert retry_after("120") == 120
    assert retry_after("Fri, 20 Nov 2026 12:10:00 GMT", now) == 600
    assert retry_after("Fri, 20 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after("soon") is None and retry_after(None) is None
    assert max_age("public, max-age=900, must-revalidate") == 900
    assert max_age("no-cache") is None


def test_permanent_redirects_are_reported_temporary_ones_not() -> None:
    with http_server() as server:
        server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
        server.routes["/temp"] = Route(status=302, headers={"Location": "/new"})
        server.routes["/new"] = Route(b"<rss/>", headers={"Cache-Control": "max-age=60"})
        moved = run(get(server, "/old"))
        temporary = run(get(server, "/temp"))
    assert moved.permanent_url == server.url("/new") and moved.max_age == 60
    assert temporary.permanent_url is None

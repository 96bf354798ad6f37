"""The linear connection pool, through real clients and real keep-alive servers on
loopback: reuse, the keep-alive limit, a full pool shared by several hosts."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from httpcore._async.connection_pool import AsyncPoolRequest

from monitor.feeds import streams
from monitor.feeds.fetch import make_client
from monitor.feeds.pool import LinearPool
from tests.servers import keep_alive_servers


def pool_of(client: httpx.AsyncClient) -> LinearPool:
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, LinearPool)
    return pool


def test_both_clients_use_the_linear_pool_and_reuse_a_connection() -> None:
    async def go() -> None:
        for guarded in (False, True):
            with keep_alive_servers(1) as [server]:
                client = make_client("t", 2, guarded=guarded, allowed={f"127.0.0.1:{server.port}"})
                async with client:
                    for _ in range(5):
                        assert (await client.get(server.url)).text == "ok"
                    assert len(pool_of(client).connections) == 1
                assert server.accepted == 1

    asyncio.run(go())


def test_a_full_pool_serves_several_hosts_and_keeps_few_idle_connections() -> None:
    """Concurrency 2: at most 4 connections, 2 kept idle. Thirty requests over three hosts
    at once all complete; the pool never holds more than 4; afterwards 2 stay idle."""

    async def go() -> None:
        with keep_alive_servers(3, delay=0.02) as hosts:
            client = make_client("t", 2)
            async with client:
                pool, sizes = pool_of(client), []
                requests = asyncio.gather(*(client.get(hosts[n % 3].url) for n in range(30)))
                while not requests.done():
                    sizes.append(len(pool.connections))
                    await asyncio.sleep(0.001)
                assert [r.status_code for r in await requests] == [200] * 30
                assert max(sizes) == 4
                assert len(pool.connections) == 2
                assert all(c.is_idle() for c in pool.connections)
            assert all(h.accepted for h in hosts)

    asyncio.run(go())


def test_idle_sockets_are_polled_only_when_about_to_be_reused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Twelve idle connections to twelve hosts, then 24 requests one after another: each
    polls at most the socket of the connection it reuses, not every idle socket on every
    pass of the pool (httpcore's way: about 12 polls per pass, several passes per request)."""
    polls: list[object] = []
    real = streams.is_socket_readable

    def counted(sock: object) -> bool:
        polls.append(sock)
        return real(sock)  # type: ignore[arg-type]

    monkeypatch.setattr(streams, "is_socket_readable", counted)

    async def go() -> None:
        with keep_alive_servers(12) as hosts:
            client = make_client("t", 12)
            async with client:
                await asyncio.gather(*(client.get(h.url) for h in hosts))
                assert len(pool_of(client).connections) == 12
                polls.clear()
                for n in range(24):
                    assert (await client.get(hosts[n % 12].url)).text == "ok"
                assert len(polls) <= 24
            assert [h.accepted for h in hosts] == [1] * 12

    asyncio.run(go())


def test_queued_requests_wait_for_a_connection_of_their_own(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """200 requests at once to one host through 20 connections: each is given a connection
    once (httpcore gives one idle connection to every queued request, all but one fail and
    queue again: about ten retries per request), two bookkeeping passes per request, and no
    connection is closed and reopened while requests wait."""
    counts: Counter[str] = Counter()
    passes, retry = LinearPool._assign_requests_to_connections, AsyncPoolRequest.clear_connection

    def counted_pass(pool: LinearPool) -> list[object]:
        counts["passes"] += 1
        return passes(pool)  # type: ignore[return-value]

    def counted_retry(request: AsyncPoolRequest) -> None:
        counts["retries"] += 1
        retry(request)

    monkeypatch.setattr(LinearPool, "_assign_requests_to_connections", counted_pass)
    monkeypatch.setattr(AsyncPoolRequest, "clear_connection", counted_retry)

    async def go() -> None:
        with keep_alive_servers(1, delay=0.01) as [server]:
            async with make_client("t", 10) as client:
                answers = await asyncio.gather(*(client.get(server.url) for _ in range(200)))
                assert [a.text for a in answers] == ["ok"] * 200
            assert server.accepted <= 20

    asyncio.run(go())
    assert counts["retries"] == 0
    assert counts["passes"] <= 3 * 200

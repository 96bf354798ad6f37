"""The linear connection pool, through real clients and real keep-alive servers on
loopback: reuse, the keep-alive limit, a full pool shared by several hosts."""

from __future__ import annotations

import asyncio

import httpx

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

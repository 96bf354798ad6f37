"""Streams that poll their socket for "is_readable", through a real client and a real
keep-alive server on loopback."""

from __future__ import annotations

import asyncio

from monitor.feeds.fetch import make_client
from tests.servers import keep_alive_servers


def test_a_connection_the_server_hung_up_is_not_reused() -> None:
    async def go() -> None:
        with keep_alive_servers(1, hang_up=True) as [server]:
            client = make_client("t", 2)
            async with client:
                for _ in range(3):
                    assert (await client.get(server.url)).text == "ok"
                    await asyncio.sleep(0.05)  # the server's close reaches the socket
            assert server.accepted == 3

    asyncio.run(go())

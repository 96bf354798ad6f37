import asyncio

import pytest

from monitor.errors import BlockedDestination
from monitor.feeds.fetch import fetch, make_client
from monitor.feeds.netguard import GuardedBackend
from tests.servers import Route, http_server


def test_guarded_client_refuses_private_addresses_at_connect_time() -> None:
    with http_server("127.0.0.2") as internal:
        internal.routes["/x"] = Route(b"secret")

        async def go() -> None:
            async with make_client("t", 2, guarded=True) as client:
                await fetch(client, internal.url("/x"), max_bytes=100, deadline=5)

        with pytest.raises(BlockedDestination, match=r"resolves to 127\.0\.0\.2"):
            asyncio.run(go())
        assert internal.requests == []


def test_guarded_client_reaches_allowed_hosts() -> None:
    with http_server() as feeds:
        feeds.routes["/a"] = Route(b"article")

        async def go() -> bytes:
            allowed = [f"127.0.0.1:{feeds.port}"]
            async with make_client("t", 2, guarded=True, allowed=allowed) as client:
                return (await fetch(client, feeds.url("/a"), max_bytes=100, deadline=5)).content

        assert asyncio.run(go()) == b"article"


def test_connection_goes_to_the_checked_address() -> None:
    backend = GuardedBackend(allowed=["localhost"])
    address = asyncio.run(backend._checked_address("localhost", 80))
    assert address in {"127.0.0.1", "::1"}  # an IP, so no second lookup happens at connect

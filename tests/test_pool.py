"""The linear connection pool and the quick backend, through real clients and real
keep-alive servers on loopback: reuse, the keep-alive limit, a full pool shared by several
hosts, a server hanging up an idle connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from monitor.feeds.fetch import make_client
from monitor.feeds.pool import LinearPool


class KeepAliveServer:
    """HTTP/1.1 with keep-alive on raw asyncio streams; counts connections, open and
    total. ``hang_up``: close every connection after its first answer, unannounced."""

    def __init__(self, hang_up: bool = False, delay: float = 0.0) -> None:
        self.hang_up, self.delay = hang_up, delay
        self.accepted = self.open = self.peak = 0
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self._server, self.port = server, server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await asyncio.sleep(0.05)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while (await reader.readuntil(b"\r\n\r\n")) and not writer.is_closing():
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@contextmanager
def servers(count: int, **options: object) -> Iterator[list[KeepAliveServer]]:
    started = [KeepAliveServer(**options) for _ in range(count)]  # type: ignore[arg-type]
    for server in started:
        server._thread.start()
        server._ready.wait(5)
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def pool_of(client: httpx.AsyncClient) -> LinearPool:
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, LinearPool)
    return pool


def test_both_clients_use_the_linear_pool_and_reuse_a_connection() -> None:
    async def go() -> None:
        for guarded in (False, True):
            with servers(1) as [server]:
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
        with servers(3, delay=0.02) as hosts:
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


def test_a_connection_the_server_hung_up_is_not_reused() -> None:
    async def go() -> None:
        with servers(1, hang_up=True) as [server]:
            client = make_client("t", 2)
            async with client:
                for _ in range(3):
                    assert (await client.get(server.url)).text == "ok"
                    await asyncio.sleep(0.05)  # the server's close reaches the socket
            assert server.accepted == 3

    asyncio.run(go())

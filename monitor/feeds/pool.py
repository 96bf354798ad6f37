"""httpcore's connection pool with its bookkeeping pass made linear.

httpcore 1.0.9 runs ``_assign_requests_to_connections`` whenever a request starts or ends.
For every idle connection it counts the whole pool again, and for every queued request it
scans every connection: quadratic in the pool's size. In a cold cycle of 1,000 feeds that
pass was a fifth to a third of the service's CPU, more than storing the articles. The fix
is known upstream (encode/httpcore#1035, not released) and the same as here: one pass to
drop closed and expired connections, one count of idle ones, one snapshot of available
ones. Behaviour is upstream's otherwise, except that ``max_keepalive_connections`` now
bounds idle connections (upstream compares it with all connections, which is that
pull request's first bug).

The pass also asks every idle connection whether its socket is readable (the server hung
up); through anyio that builds a dict of socket attributes and calls getpeername each
time. ``QuickBackend``'s streams keep their socket and poll it directly.

httpcore is pinned (constraints.txt); tests/test_pool.py drives real requests through
both: several hosts, keep-alive, a full pool, a server that hangs up.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._utils import is_socket_readable


class LinearPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing = self._prune()
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        available = [c for c in self._connections if c.is_available()]
        for request in queued:
            origin = request.request.url.origin
            connection = next((c for c in available if c.can_handle_request(origin)), None)
            if connection is None:
                connection = self._make_room(request, closing, available)
            if connection is not None:
                request.assign_to_connection(connection)
        return closing

    def _prune(self) -> list[AsyncConnectionInterface]:
        """Drop closed connections; close expired ones and idle ones past the keep-alive
        limit, oldest first."""
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
        surplus = sum(c.is_idle() for c in kept) - self._max_keepalive_connections
        if surplus > 0:
            for connection in [c for c in kept if c.is_idle()][:surplus]:
                kept.remove(connection)
                closing.append(connection)
        self._connections = kept
        return closing

    def _make_room(
        self,
        request: AsyncPoolRequest,
        closing: list[AsyncConnectionInterface],
        available: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """A new connection for the request, closing an idle one if the pool is full; None
        when every connection is busy (the request stays queued)."""
        if len(self._connections) >= self._max_connections:
            idle = next((c for c in self._connections if c.is_idle()), None)
            if idle is None:
                return None
            self._connections.remove(idle)
            closing.append(idle)
            if idle in available:
                available.remove(idle)
        connection = self.create_connection(request.request.url.origin)
        self._connections.append(connection)
        return connection


class QuickBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend (anyio) with streams that answer "is_readable" quickly."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._address(host, port)
        stream = await self._inner.connect_tcp(
            address, port, timeout, local_address, socket_options
        )
        return _Stream(stream, stream.get_extra_info("socket"))

    async def _address(self, host: str, port: int) -> str:
        """Where to connect for ``host``: the host itself (a subclass may check it)."""
        return host

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _Stream(stream, stream.get_extra_info("socket"))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: socket.socket | None) -> None:
        self._inner = inner
        self._socket = sock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(tls, self._socket)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)

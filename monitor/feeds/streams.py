"""httpcore's network backend (anyio) with streams that answer "is_readable" quickly.

Before reusing an idle keep-alive connection, and on every bookkeeping pass of the pool,
httpcore asks its stream whether the socket is readable (the server hung up). Through
anyio that builds a dict of socket attributes and calls getpeername each time; a cold cycle
asks it hundreds of thousands of times. These streams keep their socket and poll it
directly. The SSRF guard (netguard.GuardedBackend) builds on this backend.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable


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

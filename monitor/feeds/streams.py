"""httpcore's network backend on asyncio's own transports, without anyio in between.

httpcore 1.0.9 reaches asyncio through anyio, and a cold cycle paid for it on every read:
anyio's stream turns reading on before it waits and off after (two epoll_ctl system calls),
gives the loop a turn when data is already there (a loop iteration per read), and opens a
cancel scope around each read and write for its timeout. Here a protocol reads whatever
arrives into a buffer (reading stops only when ``READ_BUFFER_LIMIT`` bytes wait unread), a
read returns at once when the buffer holds data, and only a read that must wait gets a
timeout. The same upstream idea: encode/httpcore#922 (a native asyncio backend, not
released).

Before reusing an idle keep-alive connection, httpcore asks its stream whether it is
"readable" (the server hung up or sent something unasked): the protocol knows, and the
socket is polled for what it has not read yet. The SSRF guard (netguard.GuardedBackend)
builds on this backend.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable

READ_BUFFER_LIMIT = 256 * 1024  # unread bytes at which the protocol stops reading


class QuickBackend(httpcore.AsyncNetworkBackend):
    """Connections as asyncio transports with a buffering protocol (see the module)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._address(host, port)
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, address, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(transport, protocol)

    async def _address(self, host: str, port: int) -> str:
        """Where to connect for ``host``: the host itself (a subclass may check it)."""
        return host

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError(f"{path}: unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Protocol(asyncio.Protocol):
    """Bytes as they arrive, for one reader at a time; EOF and errors kept for it."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.transport: asyncio.Transport | None = None
        self._reader: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= READ_BUFFER_LIMIT and self.transport is not None:
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport: HTTP/1.1 does not half-close

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def _wake(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    async def wait_readable(self) -> None:
        self._reader = asyncio.get_running_loop().create_future()
        try:
            await self._reader
        finally:
            self._reader = None

    @property
    def writing_paused(self) -> bool:
        return self._drained is not None and not self._drained.done()

    async def wait_drained(self) -> None:
        if self._drained is not None:
            await self._drained

    def take(self, max_bytes: int) -> bytes:
        if len(self.buffer) <= max_bytes:  # the usual case: everything, copied once
            chunk = bytes(self.buffer)
            self.buffer.clear()
        else:
            with memoryview(self.buffer) as view:  # released before the buffer shrinks
                chunk = bytes(view[:max_bytes])
            del self.buffer[:max_bytes]
        transport = self.transport  # paused by data_received: resumed once below the limit
        if transport and not transport.is_reading() and len(self.buffer) < READ_BUFFER_LIMIT:
            transport.resume_reading()
        return chunk


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.wait_readable()
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(f"no data within {timeout}s") from exc
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if not self._protocol.writing_paused:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._protocol.wait_drained()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"could not send within {timeout}s") from exc

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"TLS handshake took longer than {timeout}s") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if tls is None:  # the server closed the connection during the handshake
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        self._protocol.transport = tls  # flow control now goes through the TLS layer
        return _Stream(tls, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info in ("socket", "ssl_object"):
            return self._transport.get_extra_info(info)
        return None

    def _readable(self) -> bool:
        """Whether an idle connection has something to read: data it was not asked for, the
        server's hang-up, or bytes on the socket the loop has not taken yet."""
        protocol = self._protocol
        if protocol.buffer or protocol.eof:
            return True
        sock: socket.socket | None = self._transport.get_extra_info("socket")
        return sock is not None and is_socket_readable(sock)

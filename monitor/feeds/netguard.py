"""The SSRF guarantee at connect time: an httpcore network backend that resolves the host
itself, refuses it unless every address is public (or the host:port is allowed), and then
connects to the address it checked, so no second DNS answer can slip in between.
TLS still verifies the original host name (httpcore passes it to start_tls)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

from monitor.errors import BlockedDestination
from monitor.feeds.guard import is_public
from monitor.feeds.streams import QuickBackend


class GuardedBackend(QuickBackend):
    def __init__(self, allowed: Iterable[str] = ()) -> None:
        super().__init__()
        self.allowed = set(allowed)  # "host:port" or "host"; the operator's and the feeds'

    async def _address(self, host: str, port: int) -> str:
        return await self._checked_address(host.lower(), port)

    async def _checked_address(self, host: str, port: int) -> str:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise BlockedDestination(f"{host}:{port}", f"cannot resolve host: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise BlockedDestination(f"{host}:{port}", "host has no address")
        if f"{host}:{port}" not in self.allowed and host not in self.allowed:
            private = sorted({a for a in addresses if not is_public(a)})
            if private:
                raise BlockedDestination(
                    f"{host}:{port}",
                    f"blocked destination: {host} resolves to {', '.join(private)}",
                )
        return addresses[0]

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedDestination(path, "blocked destination: unix sockets")

"""SSRF guard for links that come from feeds (attacker-controlled).

A link may be fetched when every address its host resolves to is public, when its host and
port are the feed's own, or when it is on the operator's allow-list (MONITOR_FETCH_ALLOW).
Resolving first also catches odd spellings: ``http://2130706433/`` and ``http://0x7f.1/``
resolve to 127.0.0.1 and are refused like it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from monitor.errors import BlockedDestination

DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_port(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{(parts.hostname or '').lower()}:{port}"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the IPv4 in the last 32 bits
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # local-use translation: never public
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (SIIT), ::ffff:0:a.b.c.d
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible, ::a.b.c.d


def reached(ip: IPAddress) -> list[IPAddress]:
    """The addresses a connection to ``ip`` really reaches: itself, and the IPv4 address an
    IPv6 translation form carries (mapped, NAT64, SIIT, IPv4-compatible, 6to4, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    found: list[IPAddress] = [ip]
    embedded = int(ip) & 0xFFFFFFFF
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64 or ip in _SIIT or (ip in _COMPATIBLE and embedded > 1):
        found.append(ipaddress.IPv4Address(embedded))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in _LOCAL_NAT64):
        return False
    return all(a.is_global and not a.is_multicast for a in reached(ip))


class LinkGuard:
    def __init__(self, allow: frozenset[str] = frozenset()) -> None:
        self._allow = allow

    def allowed_without_lookup(self, url: str, origin: str | None) -> bool:
        hp = host_port(url)
        host = hp.rsplit(":", 1)[0]
        return hp == origin or hp in self._allow or host in self._allow

    async def check(self, url: str, origin: str | None) -> None:
        """Raise BlockedDestination unless ``url`` may be fetched; ``origin`` is the feed's
        ``host:port``."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            raise BlockedDestination(url, "blocked destination: only http and https links")
        if self.allowed_without_lookup(url, origin):
            return
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise BlockedDestination(url, f"cannot resolve host: {exc}") from exc
        private = sorted({str(info[4][0]) for info in infos if not is_public(str(info[4][0]))})
        if private or not infos:
            raise BlockedDestination(
                url, f"blocked destination: {parts.hostname} resolves to {', '.join(private)}"
            )

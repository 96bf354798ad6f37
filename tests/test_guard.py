import asyncio

import pytest

from monitor.errors import BlockedDestination
from monitor.feeds.guard import LinkGuard, host_port, is_public


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


def test_public_addresses_are_public() -> None:
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2/",
        "http://localhost:8080/x",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.1/admin",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
    ],
)
def test_internal_links_are_blocked(url: str) -> None:
    with pytest.raises(BlockedDestination):
        asyncio.run(LinkGuard().check(url, origin="feeds.example.org:443"))


def test_the_feeds_own_host_and_port_are_allowed() -> None:
    asyncio.run(LinkGuard().check("http://127.0.0.1:8080/a", origin="127.0.0.1:8080"))
    with pytest.raises(BlockedDestination):
        asyncio.run(LinkGuard().check("http://127.0.0.1:8081/a", origin="127.0.0.1:8080"))


def test_allow_list_by_host_or_host_and_port() -> None:
    guard = LinkGuard(frozenset({"intranet.local:8443", "127.0.0.3"}))
    asyncio.run(guard.check("https://intranet.local:8443/x", origin=None))
    asyncio.run(guard.check("http://127.0.0.3:1234/x", origin=None))


def test_host_port_defaults() -> None:
    assert host_port("https://Example.org/x") == "example.org:443"
    assert host_port("http://example.org:8080") == "example.org:8080"


TRANSLATED = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64 prefix
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:0:127.0.0.1",  # SIIT IPv4-translated
    "::ffff:0:a00:1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "fec0::1",  # deprecated site-local
]


@pytest.mark.parametrize("address", TRANSLATED)
def test_ipv6_forms_that_reach_internal_ipv4_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1"])
def test_ipv6_forms_of_public_addresses_stay_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize("address", TRANSLATED)
def test_both_layers_refuse_the_translated_forms(address: str) -> None:
    """Checked without connecting: the link check, then the backend that dials."""
    from monitor.feeds.netguard import GuardedBackend

    with pytest.raises(BlockedDestination):
        asyncio.run(LinkGuard().check(f"http://[{address}]:8080/x", None))
    with pytest.raises(BlockedDestination):
        asyncio.run(GuardedBackend()._checked_address(address, 8080))

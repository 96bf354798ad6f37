"""The asyncio network backend for httpcore, through real clients and real keep-alive
servers on loopback: plain and TLS, a body larger than the read buffer, a read that
times out, a server that hung up."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import httpcore
import pytest

from monitor.feeds.fetch import make_client
from monitor.feeds.streams import READ_BUFFER_LIMIT, QuickBackend
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


def test_a_body_larger_than_the_read_buffer_arrives_whole_and_the_connection_is_reused() -> None:
    """Reading stops while READ_BUFFER_LIMIT bytes wait unread and resumes as they are
    taken: three 3 MB answers, byte for byte, over one connection."""
    body = bytes(range(256)) * (3 * 1024 * 1024 // 256 + 7)
    assert len(body) > 10 * READ_BUFFER_LIMIT

    async def go() -> None:
        with keep_alive_servers(1, body=body) as [server]:
            client = make_client("t", 2)
            async with client:
                for _ in range(3):
                    assert (await client.get(server.url)).content == body
            assert server.accepted == 1

    asyncio.run(go())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made by the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"]
    command += ["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    command += ["-keyout", str(key), "-out", str(cert)]
    command += ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


def _contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_https_through_the_backend_with_keep_alive(certificate: tuple[Path, Path]) -> None:
    server_tls, client_tls = _contexts(certificate)
    body = b"x" * (2 * READ_BUFFER_LIMIT)

    async def go() -> None:
        with keep_alive_servers(1, tls=server_tls, body=body) as [server]:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=client_tls, network_backend=QuickBackend()
            )
            async with pool:
                for _ in range(3):
                    response = await pool.request("GET", server.url)
                    assert response.status == 200
                    assert response.content == body
                    tls = response.extensions["network_stream"].get_extra_info("ssl_object")
                    assert tls.version().startswith("TLS")
                    assert tls.getpeercert()["subject"] == ((("commonName", "localhost"),),)
            assert server.accepted == 1

    asyncio.run(go())


def test_a_certificate_the_client_does_not_trust_fails_the_connection(
    certificate: tuple[Path, Path],
) -> None:
    server_tls, _ = _contexts(certificate)

    async def go() -> None:
        with keep_alive_servers(1, tls=server_tls) as [server]:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl.create_default_context(), network_backend=QuickBackend()
            )
            async with pool:
                with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await pool.request("GET", server.url)

    asyncio.run(go())


def test_a_read_that_waits_longer_than_its_timeout_fails_as_a_read_timeout() -> None:
    async def go() -> None:
        with keep_alive_servers(1, delay=1.0) as [server]:
            pool = httpcore.AsyncConnectionPool(network_backend=QuickBackend())
            async with pool:
                with pytest.raises(httpcore.ReadTimeout):
                    await pool.request("GET", server.url, extensions={"timeout": {"read": 0.2}})

    asyncio.run(go())


def test_a_refused_connection_fails_as_a_connect_error() -> None:
    async def go() -> None:
        with keep_alive_servers(1) as [server]:
            port = server.port
        pool = httpcore.AsyncConnectionPool(network_backend=QuickBackend())
        async with pool:
            with pytest.raises(httpcore.ConnectError):
                await pool.request("GET", f"http://127.0.0.1:{port}/")

    asyncio.run(go())

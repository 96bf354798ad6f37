"""Bounded decoding of Content-Encoding: stacked bombs refused, the body cap enforced while
decoding, the event loop kept turning, every supported encoding read right."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib

import pytest

from monitor.errors import FetchError
from monitor.feeds.decode import STEP, Decoder, EncodingRefused
from monitor.feeds.fetch import fetch, make_client
from tests.servers import HTTPServer, Route, http_server

CAP = 10 * 1024 * 1024


def zeros_compressed(size: int, wbits: int = 31) -> bytes:
    """``size`` zero bytes, compressed without ever holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


def test_each_encoding_decodes_in_bounded_steps() -> None:
    text = b"Troops moved to the border. " * 20_000
    cases = {
        "gzip": gzip.compress(text),
        "x-gzip": gzip.compress(text),
        "deflate": zlib.compress(text),  # with the zlib header
        "Deflate": zlib.compress(text)[2:-4],  # raw deflate, as some servers send it
        "gzip, deflate": zlib.compress(gzip.compress(text)),  # gzip applied first
        "identity": text,
        "utf-8": text,  # not an encoding: passed through, as httpx does
    }
    for encoding, body in cases.items():
        decoder = Decoder(encoding)
        pieces = [p for i in range(0, len(body), 7000) for p in decoder.feed(body[i : i + 7000])]
        pieces += list(decoder.flush())
        assert b"".join(pieces) == text, encoding
        assert max(len(p) for p in pieces) <= max(STEP, 7000), encoding


@pytest.mark.parametrize(
    "encoding", ["gzip, gzip", "deflate, deflate", "gzip, x-gzip", "gzip, deflate, gzip"]
)
def test_stacked_or_repeated_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(EncodingRefused):
        Decoder(encoding)


def bomb_server(server: HTTPServer) -> None:
    inner = zeros_compressed(1 << 30)  # 1 GiB of zeros, about a megabyte
    twice = gzip.compress(inner)  # and compressed again: a few kilobytes
    headers = {"Content-Encoding": "gzip, gzip"}
    server.routes["/twice"] = Route(twice, headers=headers)
    server.routes["/once"] = Route(inner, headers={"Content-Encoding": "gzip"})


def test_a_bomb_stops_at_the_cap_in_little_memory_and_the_loop_keeps_turning() -> None:
    with http_server() as server:
        bomb_server(server)

        async def go(path: str) -> tuple[str, float]:
            gaps, last = [], time.monotonic()
            running = True

            async def ticker() -> None:
                nonlocal last
                while running:
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            async with make_client("test", 2) as client:
                try:
                    await fetch(client, server.url(path), max_bytes=CAP, deadline=30)
                    outcome = "read"
                except FetchError as exc:
                    outcome = str(exc)
            running = False
            await tick
            return outcome, max(gaps, default=0.0)

        tracemalloc.start()
        twice = asyncio.run(go("/twice"))
        once = asyncio.run(go("/once"))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert "stacked encodings refused" in twice[0]
    assert "body larger than 10485760 bytes" in once[0]
    assert peak < 5 * CAP, f"peak {peak} bytes"  # the cap's order of magnitude, not a GiB
    assert once[1] < 1.0, f"the loop stood still for {once[1]:.2f}s"

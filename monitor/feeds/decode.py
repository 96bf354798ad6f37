"""Content-Encoding decoded with a bound on every step's output, so the body cap holds while
decoding: httpx decodes each network chunk whole, and a few kilobytes of ``gzip, gzip``
become a gigabyte in one call, on the event loop."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

STEP = 64 * 1024  # most bytes one decoder call may produce
MAX_ENCODINGS = 2
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class EncodingRefused(ValueError):
    """The response's encodings are more than we decode (stacked, or repeated)."""


class _Inflate:
    """One gzip or deflate layer; deflate may come with or without its zlib header."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.started = False
        self.decoder = zlib.decompressobj(_WBITS[kind])

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self.started and self.kind == "deflate":
            self.started = True
            try:
                first = self.decoder.decompress(data, STEP)
            except zlib.error:  # raw deflate, as some servers send it
                self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                first = self.decoder.decompress(data, STEP)
            yield first
        else:
            self.started = True
            yield self.decoder.decompress(data, STEP)
        while self.decoder.unconsumed_tail:
            yield self.decoder.decompress(self.decoder.unconsumed_tail, STEP)

    def flush(self) -> Iterator[bytes]:
        yield self.decoder.flush()


def decoders(content_encoding: str) -> list[_Inflate]:
    """The layers to undo, outermost first; unknown codings pass through as httpx lets
    them (servers send ``utf-8`` there), identity is nothing."""
    named = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    known = [e for e in named if e in _WBITS]
    kinds = ["gzip" if e == "x-gzip" else e for e in known]
    if len(known) > MAX_ENCODINGS or len(set(kinds)) < len(kinds):
        raise EncodingRefused(f"Content-Encoding {content_encoding!r}: stacked encodings refused")
    return [_Inflate(e) for e in reversed(known)]


class Decoder:
    """Raw body chunks in, decoded pieces of at most ``STEP`` bytes out."""

    def __init__(self, content_encoding: str) -> None:
        self.layers = decoders(content_encoding)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        return self._through(0, raw)

    def flush(self) -> Iterator[bytes]:
        for index, layer in enumerate(self.layers):
            for piece in layer.flush():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self.layers):
            if data:
                yield data
            return
        for piece in self.layers[index].feed(data):
            yield from self._through(index + 1, piece)

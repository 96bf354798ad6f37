"""Aggregator links resolved to the publisher's own URL without fetching anything.

Google News feeds link every item through ``news.google.com``: the older article ids are a
base64url protobuf that carries the publisher's URL (field 4, a length-prefixed string);
``/news/url?url=...`` carries it as a parameter. The newer ids carry only Google's own key,
and following one leads to an interstitial page ("Opening..."), never the article: such an
item is matched on the feed's text, with the reason kept (``monitor.pipeline.stages``).
"""

from __future__ import annotations

import base64
import binascii
import itertools
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

AGGREGATOR_HOSTS = frozenset({"news.google.com"})
_ID_SEGMENTS = {"articles", "read"}


@dataclass(frozen=True)
class Resolved:
    url: str  # the publisher's URL, or the link as given when it could not be resolved
    via: str | None = None  # the aggregator it was read from
    unresolved: str | None = None  # why the link still points at the aggregator


def is_aggregator(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in AGGREGATOR_HOSTS


def resolve(url: str) -> Resolved:
    """The publisher's URL an aggregator link carries; other links as they are."""
    if not is_aggregator(url):
        return Resolved(url)
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("url", [])
    found = next((u for u in given if _web(u)), None)
    segments = [s for s in parts.path.split("/") if s]
    for before, segment in itertools.pairwise(segments):
        if found is None and before in _ID_SEGMENTS:
            found = _from_id(segment)
    if found is not None:
        return Resolved(found, via=parts.hostname)
    why = f"{parts.hostname} link does not carry the publisher's URL"
    return Resolved(url, via=parts.hostname, unresolved=why)


def _from_id(article_id: str) -> str | None:
    padded = article_id + "=" * (-len(article_id) % 4)
    try:
        data = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None
    at = data.find(b"\x22")  # field 4, length-delimited
    while at != -1:
        length, start = _varint(data, at + 1)
        if length and data[start : start + 4] == b"http":
            candidate = data[start : start + length].decode("utf-8", "replace")
            if _web(candidate):
                return candidate
        at = data.find(b"\x22", at + 1)
    return None


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 35:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    return 0, at


def _web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and not is_aggregator(url)

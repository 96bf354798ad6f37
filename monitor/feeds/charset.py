"""Feed bytes -> text, decoded as a browser and RFC 7303 would, with a guess only when what
is declared cannot be right.

The order: the HTTP ``charset``, then a byte-order mark, then the XML declaration (or, with
nothing declared, UTF-8, XML's default). A declaration is passed over when the bytes are
impossible in it (not UTF-8 at all) or when what it gives reads as mojibake (Cyrillic bytes
read as Latin-1, windows-1251 read as KOI8-R: ``charset_normalizer``'s mess measure); then
the next one is tried, and with none left the charset is detected, which the feed's health
says ("charset guessed: koi8-r").
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

SAMPLE = 64 * 1024  # characters of decoded text judged for mojibake
MESSY = 0.2  # charset_normalizer's own threshold for "this is not text"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?" in UTF-16 and UTF-32 without a BOM (RFC 7303 appendix; XML 1.0 appendix F).
_SNIFF = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})""")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # Python's name of the charset used
    guessed: bool  # detected, because nothing declared fitted the bytes
    note: str | None  # what the feed's health says about it, if anything


def decode(content: bytes, content_type: str = "") -> Decoded:
    tried: list[str] = []
    for label, _how in _declared(content, content_type):
        name = _codec(label)
        if name is None or name in tried:
            continue
        tried.append(name)
        text = _strict(content, name)
        if text is not None and _plausible(text):
            note = None if len(tried) == 1 else f"charset {', '.join(tried[:-1])} did not fit"
            return Decoded(text.lstrip("\ufeff"), name, False, note)
    return _guessed(content, tried)


def _declared(content: bytes, content_type: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if match := _HTTP_CHARSET.search(content_type):
        found.append((match.group(1), "http"))
    for bom, name in _BOMS:
        if content.startswith(bom):
            found.append((name, "bom"))
            break
    for start, name in _SNIFF:
        if content.startswith(start):
            found.append((name, "sniffed"))
    if declared := _XML_ENCODING.match(_ascii_head(content, found)):
        found.append((declared.group(1).decode("ascii"), "xml"))
    if not any(how in {"xml", "bom", "sniffed"} for _, how in found):
        found.append(("utf-8", "default"))
    return found


def _ascii_head(content: bytes, found: list[tuple[str, str]]) -> bytes:
    """The first bytes as ASCII, so the declaration of a UTF-16 document is read too."""
    for name, how in found:
        if how in {"bom", "sniffed"} and not name.startswith("utf-8"):
            head = content[:800].decode(name, "ignore").lstrip("\ufeff")
            return head.encode("ascii", "ignore")
    return content[:400].lstrip(codecs.BOM_UTF8)


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # A document that says UTF-16 or UTF-32 carries a BOM that gives the byte order.
    return {"utf-16": "utf-16", "utf-32": "utf-32"}.get(name, name)


def _strict(content: bytes, name: str) -> str | None:
    try:
        return content.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _plausible(text: str) -> bool:
    sample = text[:SAMPLE]
    if sample.isascii():
        return True
    return mess_ratio(sample, MESSY) < MESSY


def _guessed(content: bytes, tried: list[str]) -> Decoded:
    best = from_bytes(content[: 4 * SAMPLE]).best()
    if best is not None:
        name = codecs.lookup(best.encoding).name
        text = content.decode(name, "replace")
        misfits = f" ({', '.join(tried)} did not fit)" if tried else ""
        return Decoded(text.lstrip("\ufeff"), name, True, f"charset guessed: {name}{misfits}")
    fallback = tried[0] if tried else "utf-8"
    text = content.decode(fallback, "replace")
    return Decoded(text, fallback, True, f"charset unknown, read as {fallback} with replacements")

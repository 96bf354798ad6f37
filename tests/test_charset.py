"""Feeds decoded as RFC 7303 and browsers would, with Russian and Ukrainian text in every
charset the region's outlets use; what was guessed is said."""

from __future__ import annotations

import pytest

from monitor.feeds.charset import decode

RU = "Войска переброшены к границе с Белоруссией: Минобороны сообщило о 30 тысячах военных."
UK = "Війська перекинуто до кордону з Білоруссю: залучено близько 9 тисяч військовослужбовців."


def feed(text: str, declared: str | None = None) -> str:
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    return f'{head}<rss version="2.0"><channel><item><title>{text}</title></item></channel></rss>'


CASES = [
    # (what, bytes, Content-Type, expected codec, guessed)
    (
        "cp1251, HTTP charset only",
        feed(RU).encode("cp1251"),
        "text/xml; charset=windows-1251",
        "cp1251",
        False,
    ),
    (
        "koi8-r, HTTP charset only",
        feed(RU).encode("koi8-r"),
        "text/xml; charset=KOI8-R",
        "koi8-r",
        False,
    ),
    ("koi8-u declared", feed(UK, "koi8-u").encode("koi8-u"), "", "koi8-u", False),
    ("iso-8859-5 declared", feed(RU, "iso-8859-5").encode("iso-8859-5"), "", "iso8859-5", False),
    ("utf-16 with BOM", feed(UK, "utf-16").encode("utf-16"), "", "utf-16-le", False),
    ("utf-16-be without BOM", feed(RU, "utf-16").encode("utf-16-be"), "", "utf-16-be", False),
    ("utf-32 with BOM", feed(RU, "utf-32").encode("utf-32"), "", "utf-32-le", False),
    ("utf-32-le without BOM", feed(UK, "utf-32").encode("utf-32-le"), "", "utf-32-le", False),
    ("utf-8 with BOM", b"\xef\xbb\xbf" + feed(UK).encode(), "", "utf-8", False),
    ("nothing declared, cp1251", feed(RU).encode("cp1251"), "", "cp1251", True),
    ("nothing declared, koi8-r", feed(RU).encode("koi8-r"), "", "koi8-r", True),
    ("nothing declared, koi8-u", feed(UK).encode("koi8-u"), "", "koi8-u", True),
    ("declaration lies (utf-8)", feed(RU, "utf-8").encode("cp1251"), "", "cp1251", True),
    ("declaration lies (cp1251)", feed(RU, "windows-1251").encode("koi8-r"), "", "koi8-r", True),
    (
        "HTTP header lies (latin-1)",
        feed(UK, "windows-1251").encode("cp1251"),
        "application/rss+xml; charset=iso-8859-1",
        "cp1251",
        False,
    ),
    (
        "HTTP header lies (utf-8)",
        feed(RU).encode("koi8-r"),
        "text/xml; charset=utf-8",
        "koi8-r",
        True,
    ),
]


@pytest.mark.parametrize(("what", "content", "content_type", "codec", "guessed"), CASES)
def test_cyrillic_feeds_decode_to_their_text(
    what: str, content: bytes, content_type: str, codec: str, guessed: bool
) -> None:
    decoded = decode(content, content_type)
    assert (RU in decoded.text) or (UK in decoded.text), what
    assert decoded.encoding == codec and decoded.guessed is guessed
    assert not decoded.text.startswith("\ufeff")
    if guessed:
        assert decoded.note and decoded.note.startswith(f"charset guessed: {codec}")


def test_a_declaration_passed_over_is_said() -> None:
    decoded = decode(feed(UK, "windows-1251").encode("cp1251"), "text/xml; charset=iso-8859-1")
    assert decoded.note == "charset iso8859-1 did not fit"


def test_plain_utf8_and_ascii_say_nothing() -> None:
    assert decode(feed(RU).encode()).note is None
    assert decode(b"<rss/>", "text/xml; charset=windows-1251").text == "<rss/>"

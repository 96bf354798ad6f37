from __future__ import annotations

import base64

from monitor.feeds.links import resolve


def google_id(url: str) -> str:
    """An article id of the older Google News kind, built here: a protobuf with the
    publisher's URL as field 4 (length-prefixed), between other fields."""
    raw = url.encode()
    payload = b"\x08\x13\x22" + bytes([len(raw)]) + raw + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_a_google_news_article_id_gives_the_publishers_url() -> None:
    publisher = "https://www.ukrinform.ua/rubric-ato/3870000-vijska.html"
    got = resolve(f"https://news.google.com/rss/articles/{google_id(publisher)}?oc=5")
    assert (got.url, got.via, got.unresolved) == (publisher, "news.google.com", None)


def test_a_long_url_with_a_two_byte_length() -> None:
    publisher = "https://e.org/" + "a" * 300
    raw = publisher.encode()
    length = bytes([(len(raw) & 0x7F) | 0x80, len(raw) >> 7])
    article = base64.urlsafe_b64encode(b"\x08\x13\x22" + length + raw).decode()
    assert resolve(f"https://news.google.com/articles/{article}").url == publisher


def test_a_url_parameter_is_read() -> None:
    got = resolve("https://news.google.com/news/url?sa=t&url=https://e.org/story&ct=ga")
    assert got.url == "https://e.org/story"


def test_a_new_style_id_is_unresolved_with_the_reason() -> None:
    opaque = base64.urlsafe_b64encode(b"\x08\x13\x22\x10AU_yqLOpaqueKey1").decode()
    link = f"https://news.google.com/rss/articles/{opaque}?oc=5"
    got = resolve(link)
    assert got.url == link and got.unresolved and "publisher" in got.unresolved


def test_other_links_are_left_as_they_are() -> None:
    assert resolve("https://e.org/a#post-2").url == "https://e.org/a#post-2"
    assert resolve("https://e.org/a").via is None

import pytest

from monitor.errors import ParseError
from monitor.feeds.parse import parse_feed
from tests.content import Item, atom, rss


def test_rss_entries_with_text_and_dates() -> None:
    body = rss(
        "T",
        [
            Item(
                "Troops <b>move</b>",
                "http://e.org/1",
                "<p>First &amp; <i>only</i></p><p>Second</p>",
            )
        ],
    )
    feed = parse_feed(body, "http://e.org/feed")
    [entry] = feed.entries
    assert entry.title == "Troops move"
    assert entry.summary == "First & only\nSecond"
    assert entry.link == "http://e.org/1" and entry.guid == "http://e.org/1"
    assert entry.published is not None and entry.published.tzinfo is not None


def test_atom_entries() -> None:
    feed = parse_feed(
        atom("A", [Item("One", "http://e.org/a", "s", guid="urn:1")]), "http://e.org/"
    )
    assert [(e.guid, e.link) for e in feed.entries] == [("urn:1", "http://e.org/a")]


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>x</title><link>/a/1</link></item></channel></rss>"
    )
    [entry] = parse_feed(body, "http://news.example.org/rss").entries
    assert entry.link == "http://news.example.org/a/1"


def test_scripts_styles_and_markup_never_reach_the_entry_text() -> None:
    """feedparser's sanitiser is off (its output was thrown away); our text pass drops them."""
    summary = (
        '<style>p {color: red}</style><p onclick="steal()">Troops <a href="/x">moved</a>'
        "</p><script>alert('x')</script><iframe src=\"http://evil/\">frame</iframe>"
    )
    body = rss("T", [Item("<script>bad()</script>Title <b>here</b>", "http://e.org/1", summary)])
    [entry] = parse_feed(body, "http://e.org/feed").entries
    assert entry.title == "Title here"
    assert "alert" not in entry.summary and "color" not in entry.summary
    assert "<" not in entry.summary and "steal" not in entry.summary
    assert entry.summary.startswith("Troops moved")


def test_items_without_link_or_guid_are_counted_and_skipped() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>no link</title></item>'
        b"<item><title>ok</title><link>http://e.org/x</link></item></channel></rss>"
    )
    feed = parse_feed(body, "http://e.org/rss")
    assert feed.skipped == 1 and len(feed.entries) == 1


def test_malformed_feed_keeps_what_it_could_read() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>ok</title>'
        b"<link>http://e.org/x</link></item><item><title>broken &bogus; <b></channel>"
    )
    feed = parse_feed(body, "http://e.org/rss")
    assert feed.problem is not None
    assert [e.link for e in feed.entries][:1] == ["http://e.org/x"]


@pytest.mark.parametrize("body", [b"", b"<html><body><p>Not a feed</p></body></html>", b"\x00\xff"])
def test_not_a_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"http://e\.org/rss: not an RSS or Atom feed"):
        parse_feed(body, "http://e.org/rss")


def test_bounds_and_poison_items_are_left_out_and_counted() -> None:
    from monitor.feeds.parse import MAX_TITLE

    items = [
        Item("T" * 9_000_000, "http://e.org/long-title", "x"),
        Item("Bad port", "http://e.org:99999/x", "x"),
        Item("Script", "javascript:alert(1)", "x", guid="urn:script"),
        Item("Surrogate &#55296; here", "http://e.org/s", "x"),
    ]
    body = rss("P", items).replace(b"&amp;#55296;", b"&#55296;")
    feed = parse_feed(body, "http://e.org/feed")
    by_title = {e.title[:20]: e for e in feed.entries}
    assert len(by_title["T" * 20].title) == MAX_TITLE
    assert by_title["Script"].link is None and by_title["Script"].guid == "urn:script"
    assert by_title["Surrogate \ufffd here"[:20]].link == "http://e.org/s"
    assert feed.skipped == 1 and "1 with a broken link" in (feed.problem or "")

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


def test_items_without_guid_link_or_title_are_counted_and_skipped() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><description>x</description>'
        b"</item><item><title>ok</title><link>http://e.org/x</link></item></channel></rss>"
    )
    feed = parse_feed(body, "http://e.org/rss")
    assert feed.skipped == 1 and len(feed.entries) == 1
    assert feed.tallies["skipped"] == 1


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
    with pytest.raises(ParseError, match=r"http://e\.org/rss: not an RSS, Atom or JSON feed"):
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


def test_json_feed_items_read_like_rss() -> None:
    import json

    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": 7,
                "url": "/live#post-1",
                "title": "Колона техніки <b>рухається</b>",
                "content_html": "<p>Понад 40 одиниць техніки</p>",
                "date_published": "2024-06-22T10:00:00+03:00",
            },
            {"id": "b", "external_url": "https://other.org/x", "content_text": "plain"},
        ],
    }
    body = json.dumps(document, ensure_ascii=False).encode()
    feed = parse_feed(body, "http://e.org/feed.json", "application/feed+json")
    first, second = feed.entries
    assert (first.guid, first.link) == ("7", "http://e.org/live#post-1")
    assert first.title == "Колона техніки рухається"
    assert first.summary == "Понад 40 одиниць техніки"
    assert first.published is not None and first.published.hour == 7
    assert (second.link, second.summary) == ("https://other.org/x", "plain")


def test_json_that_is_no_json_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"http://e\.org/x\.json: JSON without a JSON Feed"):
        parse_feed(b'{"items": []}', "http://e.org/x.json", "application/json")


def test_items_identified_by_guid_then_link_with_fragment_then_title_and_date() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>a</title><link>http://e.org/live#post-1</link></item>"
        b"<item><title>b</title><link>http://e.org/live#post-2</link></item>"
        b"<item><title>Only a title</title><pubDate>Sat, 22 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"<item><title>Only a title</title><pubDate>Sat, 22 Jun 2024 11:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    guids = [e.guid for e in parse_feed(body, "http://e.org/rss").entries]
    assert guids[:2] == ["http://e.org/live#post-1", "http://e.org/live#post-2"]
    assert guids[2].startswith("title:") and guids[3].startswith("title:")
    assert len(set(guids)) == 4


def test_a_media_title_is_the_title_when_there_is_no_other() -> None:
    body = (
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t'
        b"</title><item><media:title>Drone footage of the column</media:title>"
        b"<link>http://e.org/v/1</link></item></channel></rss>"
    )
    [entry] = parse_feed(body, "http://e.org/rss").entries
    assert entry.title == "Drone footage of the column"


def test_google_news_links_become_the_publishers_and_unresolved_ones_say_why() -> None:
    from tests.test_links import google_id

    resolved = f"https://news.google.com/rss/articles/{google_id('https://e.org/a')}?oc=5"
    opaque = "https://news.google.com/rss/articles/CBMiAU_yqLOpaque?oc=5"
    body = rss("G", [Item("Resolved", resolved, "x"), Item("Opaque", opaque, "y")])
    feed = parse_feed(body, "https://news.google.com/rss/search?q=x")
    first, second = feed.entries
    assert first.link == "https://e.org/a" and first.link_note is None
    assert second.link == opaque and second.link_note


def test_a_cyrillic_feed_with_its_charset_only_in_the_header_is_read() -> None:
    body = rss("Р", [Item("Войска переброшены", "http://e.org/1", "Колонна")])
    body = body.decode().replace('encoding="utf-8"', "").encode("cp1251")
    feed = parse_feed(body, "http://e.org/rss", "text/xml; charset=windows-1251")
    assert feed.entries[0].title == "Войска переброшены" and feed.problem is None
    guessed = parse_feed(body.replace(b"windows-1251", b""), "http://e.org/rss")
    assert guessed.entries[0].summary == "Колонна"
    assert guessed.tallies["charset_guessed"] == 1
    assert guessed.problem and "charset guessed: cp1251" in guessed.problem


def test_json_feed_1_0_is_recognised_by_its_content_alone() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1", "title": "J", "items": '
        b'[{"id": "1", "url": "https://e.org/1", "title": "One", "content_text": "x"}]}'
    )
    [entry] = parse_feed(body, "https://e.org/feed", "text/plain").entries
    assert (entry.guid, entry.link, entry.title) == ("1", "https://e.org/1", "One")


def test_why_rss_and_atom_stay_with_feedparser() -> None:
    """fastfeedparser reads JSON Feed, but on a broken document it loses text feedparser
    keeps: if that changes, the choice may too."""
    import fastfeedparser

    broken = (
        b"<rss version='2.0'><channel><item><title>Tanks & troops</title>"
        b"<link>http://e.org/b</link><pubDate>Sat, 22 Jun 2024 10:00:00 MSK</pubDate>"
        b"</item></channel>"
    )
    [ours] = parse_feed(broken, "http://e.org/rss").entries
    assert ours.title == "Tanks & troops" and ours.published is not None
    assert ours.published.hour == 7
    [theirs] = fastfeedparser.parse(broken).entries
    assert theirs["title"] != "Tanks & troops"


def test_the_websub_hub_and_topic_a_feed_advertises_are_read_in_each_format() -> None:
    rss_body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        b'<channel><title>T</title><atom:link rel="hub" href="/hub"/>'
        b'<atom:link rel="self" href="https://e.org/rss"/>'
        b"<item><title>a</title><link>https://e.org/a</link></item></channel></rss>"
    )
    rss_feed = parse_feed(rss_body, "https://e.org/feed")
    assert (rss_feed.hub, rss_feed.topic) == ("https://e.org/hub", "https://e.org/rss")
    atom_body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<link rel="hub" href="https://pubsubhubbub.example/"/>'
        b'<link rel="hub" href="https://second.example/"/>'
        b"<entry><id>1</id><title>x</title></entry></feed>"
    )
    atom_feed = parse_feed(atom_body, "https://e.org/atom")
    assert (atom_feed.hub, atom_feed.topic) == ("https://pubsubhubbub.example/", None)
    json_body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J",'
        b' "feed_url": "https://e.org/feed.json",'
        b' "hubs": [{"type": "rssCloud", "url": "https://cloud.example/"},'
        b' {"type": "WebSub", "url": "https://hub.example/"}],'
        b' "items": [{"id": "1", "url": "https://e.org/1", "title": "x"}]}'
    )
    json_feed = parse_feed(json_body, "https://e.org/feed.json")
    assert (json_feed.hub, json_feed.topic) == ("https://hub.example/", "https://e.org/feed.json")
    odd = atom_body.replace(b"https://pubsubhubbub.example/", b"javascript:alert(1)")
    assert parse_feed(odd, "https://e.org/atom").hub is None  # only http(s) is a hub
    plain = parse_feed(rss("T", [Item("a", "https://e.org/a", "s")]), "https://e.org/feed")
    assert (plain.hub, plain.topic) == (None, None)

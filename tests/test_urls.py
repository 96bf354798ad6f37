from monitor.feeds.urls import canonical_url, url_hash


def test_tracking_parameters_and_fragments_are_dropped() -> None:
    url = "HTTPS://News.Example.org:443/a/b?utm_source=x&id=7&fbclid=abc#comments"
    assert canonical_url(url) == "https://news.example.org/a/b?id=7"


def test_same_story_two_links_same_hash() -> None:
    assert url_hash("https://e.org/s?utm_medium=rss") == url_hash("https://e.org/s#top")
    assert url_hash("https://e.org/s?id=1") != url_hash("https://e.org/s?id=2")


def test_non_default_port_is_kept() -> None:
    assert canonical_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"

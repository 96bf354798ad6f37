"""Editing feeds.yaml as text: added and removed entries, the operator's comments, order and
other entries kept; duplicates and a last feed refused; an edit that would not read is
not written. And `monitor feeds add` with a site's homepage writes its discovered feed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config.feeds import load_feeds
from monitor.config.feeds_file import add_feed, remove_feed
from monitor.errors import ConfigError
from tests.content import Item, rss
from tests.servers import Route, http_server

FEEDS = """# Feeds for the Belarus desk.
feeds:
  - name: Wire  # the agency
    url: https://wire.example/rss
    tags: [belarus]
  # Ukrainian outlets
  - name: Pravda
    url: https://pravda.example/rss
    language: uk
"""


def test_an_entry_is_added_at_the_end_and_comments_stay(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS, encoding="utf-8")
    add_feed(path, {"name": 'Ministry "news"', "url": "https://mil.example/feed", "tags": ["by"]})
    text = path.read_text(encoding="utf-8")
    assert text.startswith(FEEDS)  # nothing above was touched
    assert [f.name for f in load_feeds(path)] == ["Wire", "Pravda", 'Ministry "news"']
    assert load_feeds(path)[2].tags == ("by",)
    with pytest.raises(ConfigError, match="a feed named 'Wire' is there already"):
        add_feed(path, {"name": "Wire", "url": "https://x.example/rss"})
    with pytest.raises(ConfigError, match="is there already, as 'Pravda'"):
        add_feed(path, {"name": "Other", "url": "https://pravda.example/rss"})
    with pytest.raises(ConfigError):
        add_feed(path, {"name": "Bad", "url": "ftp://nowhere"})  # would not read: not written
    assert [f.name for f in load_feeds(path)] == ["Wire", "Pravda", 'Ministry "news"']


def test_an_entry_is_removed_with_its_own_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS, encoding="utf-8")
    assert remove_feed(path, "Wire") == "https://wire.example/rss"
    text = path.read_text(encoding="utf-8")
    assert "# Feeds for the Belarus desk." in text and "# Ukrainian outlets" in text
    assert "wire.example" not in text and "belarus" not in text
    assert [f.name for f in load_feeds(path)] == ["Pravda"]
    with pytest.raises(ConfigError, match="the only feed"):
        remove_feed(path, "Pravda")
    with pytest.raises(ConfigError, match="no feed named 'Nope'"):
        remove_feed(path, "Nope")
    path.write_text(FEEDS, encoding="utf-8")
    remove_feed(path, "Pravda")  # the last entry, to the end of the file
    assert [f.name for f in load_feeds(path)] == ["Wire"]
    assert "pravda" not in path.read_text(encoding="utf-8")


def test_feeds_add_with_a_homepage_writes_the_discovered_feed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS, encoding="utf-8")
    feed = rss("Ministry", [Item("Troops moved", "http://example.org/a", "x")])
    with http_server() as site:
        page = '<html><head><link rel="alternate" type="application/rss+xml" href="/news.rss">'
        site.routes["/"] = Route(page.encode(), headers={"Content-Type": "text/html"})
        site.routes["/news.rss"] = Route(feed)
        env = {"MONITOR_FEEDS": str(path)}
        added = CliRunner().invoke(
            cli, ["feeds", "add", site.url("/"), "--name", "MoD", "--tags", "by,mil"], env=env
        )
        assert added.exit_code == 0, added.output
        assert (
            f"added 'MoD': {site.url('/news.rss')} (found from {site.url('/')}), 1 items now"
            in (added.output)
        )
        again = CliRunner().invoke(cli, ["feeds", "add", site.url("/news.rss")], env=env)
        assert again.exit_code == 1 and "is there already, as 'MoD'" in again.output
        site.routes.pop("/news.rss")
        missing = CliRunner().invoke(cli, ["feeds", "add", site.url("/none")], env=env)
        assert missing.exit_code == 1 and "no feed found" in missing.output
    mod = load_feeds(path)[-1]
    assert (mod.name, mod.url, mod.tags) == ("MoD", site.url("/news.rss"), ("by", "mil"))
    removed = CliRunner().invoke(cli, ["feeds", "remove", "MoD"], env=env)
    assert removed.exit_code == 0 and "its articles and hits stay" in removed.output
    assert [f.name for f in load_feeds(path)] == ["Wire", "Pravda"]

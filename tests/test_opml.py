"""OPML in and out: an export of another reader written for the tests (nested folders,
Cyrillic names, a duplicate, one feed already configured) imported into feeds.yaml with
folders as tags; feeds.yaml exported and read back by listparser."""

from __future__ import annotations

from pathlib import Path

import listparser
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config.feeds import load_feeds
from monitor.config.opml import read_opml, write_opml
from monitor.errors import ConfigError

OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="Беларусь" title="Беларусь">
    <outline text="Военные">
      <outline type="rss" text="Минобороны" xmlUrl="https://mil.example/rss"/>
      <outline type="rss" text="Погранкомитет" xmlUrl="https://gpk.example/rss"/>
    </outline>
    <outline type="rss" text="Зеркало" xmlUrl="https://zerkalo.example/rss"/>
  </outline>
  <outline text="Wires">
    <outline type="rss" text="Wire" xmlUrl="https://wire.example/rss"/>
    <outline type="rss" text="Зеркало" xmlUrl="https://zerkalo.example/en/rss"/>
  </outline>
</body></opml>
"""
FEEDS = "# our feeds\nfeeds:\n  - name: Wire\n    url: https://wire.example/rss\n"


def test_folders_become_tags_and_names_stay_unique(tmp_path: Path) -> None:
    path = tmp_path / "reader.opml"
    path.write_text(OPML, encoding="utf-8")
    entries = read_opml(path)
    assert entries[0] == {
        "name": "Минобороны",
        "url": "https://mil.example/rss",
        "tags": ["Беларусь", "Военные"],
    }
    assert [e["name"] for e in entries][-1] == "Зеркало (2)"
    path.write_text("<opml><body></body></opml>", encoding="utf-8")
    with pytest.raises(ConfigError, match="no feeds in this OPML file"):
        read_opml(path)


def test_import_adds_the_new_ones_and_export_reads_back(tmp_path: Path) -> None:
    feeds, opml = tmp_path / "feeds.yaml", tmp_path / "reader.opml"
    feeds.write_text(FEEDS, encoding="utf-8")
    opml.write_text(OPML, encoding="utf-8")
    env = {"MONITOR_FEEDS": str(feeds)}
    done = CliRunner().invoke(cli, ["feeds", "import", str(opml)], env=env)
    assert done.exit_code == 0, done.output
    assert "4 feeds added" in done.output and "1 left out" in done.output
    assert "left out: a feed named 'Wire' is there already" in done.output
    assert feeds.read_text(encoding="utf-8").startswith(FEEDS)  # comments kept
    loaded = {f.name: f for f in load_feeds(feeds)}
    assert loaded["Погранкомитет"].tags == ("Беларусь", "Военные")
    assert loaded["Зеркало (2)"].tags == ("Wires",)
    exported = CliRunner().invoke(cli, ["feeds", "export"], env=env)
    assert exported.exit_code == 0
    back = listparser.parse(exported.output)
    assert not back.bozo
    assert {f.url for f in back.feeds} == {f.url for f in loaded.values()}
    assert {tuple(f.tags) for f in back.feeds if f.title == "Погранкомитет"} == {
        ("Беларусь", "Военные")
    }


def test_export_escapes_what_it_writes() -> None:
    from monitor.config.feeds import FeedConfig

    text = write_opml([FeedConfig(name='A "b" <c> & d', url="https://e.example/?a=1&b=2")])
    back = listparser.parse(text)
    assert [(f.title, f.url) for f in back.feeds] == [
        ('A "b" <c> & d', "https://e.example/?a=1&b=2")
    ]

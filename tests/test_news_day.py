"""The simulated news day end to end: 13 events (10 military, 3 not), each reported by an
English wire, a second English outlet in its own words, a Russian and a Ukrainian outlet,
on feeds served from loopback; the shipped rules; one webhook channel; the real
``monitor run --once``. The desk receives one message per military story and nothing else;
the other reports fold into the digest; a story that becomes critical sends one follow-up;
with a rate limit of 3 the most severe stories arrive and the rest wait for the digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.content import Item, rss
from tests.servers import HTTPServer, Route, http_server
from tests.test_cli import monitor

EVENTS = [
    e
    for e in yaml.safe_load((REPO / "tests/eval/stories.yaml").read_text("utf-8"))["events"]
    if e.get("day")
]
FEEDS = {"wire": ("en", "en"), "second": ("en2", "en"), "ru": ("ru", "ru"), "uk": ("uk", "uk")}
LATE = ("iskander-asipovichy", "en2")  # "nuclear-capable": makes its story critical


def serve(site: HTTPServer, late: bool) -> None:
    for feed, (version, _) in FEEDS.items():
        items = [
            Item(e[version]["title"], site.url(f"/{feed}/{e['id']}"), e[version]["lead"])
            for e in EVENTS
            if late or (e["id"], version) != LATE
        ]
        site.routes[f"/{feed}.xml"] = Route(rss(feed, items))


def environment(tmp: Path, database_url: str, site: HTTPServer, hook: HTTPServer, limit: int):
    feeds = "".join(
        f"- {{name: {feed}, url: '{site.url(f'/{feed}.xml')}', language: {language}, "
        "full_text: false}\n"
        for feed, (_, language) in FEEDS.items()
    )
    (tmp / "feeds.yaml").write_text(feeds, "utf-8")
    (tmp / "monitor.yaml").write_text(f"channels:\n  default: {{rate_limit: {limit}}}\n", "utf-8")
    return {
        "MONITOR_DATABASE_URL": database_url,
        "MONITOR_FEEDS": str(tmp / "feeds.yaml"),
        "MONITOR_RULES": str(REPO / "rules"),
        "MONITOR_CONFIG": str(tmp / "monitor.yaml"),
        "MONITOR_CHANNEL_DEFAULT": f"json://127.0.0.1:{hook.port}/desk",
    }


def event_of(title: str) -> str:
    """The event a message is about, from the headline it carries."""
    found = {
        e["id"]
        for e in EVENTS
        for version in FEEDS.values()
        if version[0] in e and title.endswith(e[version[0]]["title"])
    }
    assert len(found) == 1, title
    return found.pop()


def messages(hook: HTTPServer) -> list[dict[str, Any]]:
    return [m for m in hook.posted_json() if not m["title"].startswith("Rate limited")]


MILITARY = {e["id"] for e in EVENTS if e["military"]}


def test_the_desk_gets_one_message_per_story_and_one_follow_up(
    database_url: str, tmp_path: Path
) -> None:
    with http_server() as site, http_server() as hook:
        serve(site, late=False)
        env = environment(tmp_path, database_url, site, hook, limit=20)
        first = monitor("run", "--once", env=env)
        assert first.returncode == 0, first.stderr
        told = messages(hook)
        digest = monitor("alerts", "digest", env=env)
        assert digest.returncode == 0, digest.stderr
        [summary] = hook.posted_json()[len(told) :]
        serve(site, late=True)
        second = monitor("run", "--once", env=env)
        assert second.returncode == 0, second.stderr
        after = messages(hook)[len(told) + 1 :]
    stories = [event_of(m["title"]) for m in told]
    assert sorted(stories) == sorted(MILITARY)  # each military story once, nothing else
    assert len(EVENTS) == 13 and len(MILITARY) == 10
    # The copies and the other languages are in the digest, under their stories.
    assert summary["title"].startswith("Digest for default")
    assert "also reported by" in summary["message"] and "(en, ru, uk)" in summary["message"]
    [follow_up] = after
    assert follow_up["title"].startswith(
        "[critical] follow-up (now critical: Nuclear weapons in Belarus): "
    )
    assert event_of(follow_up["title"]) == "iskander-asipovichy"


def test_with_a_rate_limit_of_3_the_most_severe_arrive_and_the_rest_wait(
    database_url: str, tmp_path: Path
) -> None:
    with http_server() as site, http_server() as hook:
        serve(site, late=True)
        env = environment(tmp_path, database_url, site, hook, limit=3)
        done = monitor("run", "--once", env=env)
        assert done.returncode == 0, done.stderr
        told = messages(hook)
        [notice] = [m for m in hook.posted_json() if m["title"] == "Rate limited: default"]
        digest = monitor("alerts", "digest", env=env)
        assert digest.returncode == 0, digest.stderr
        summary = hook.posted_json()[-1]
    assert len(told) == 3
    assert told[0]["title"].startswith("[critical]")  # the most severe first
    assert event_of(told[0]["title"]) == "iskander-asipovichy"
    waiting = MILITARY - {event_of(m["title"]) for m in told}
    assert len(waiting) == 7
    assert "7 less severe stories wait for the digest" in notice["message"]
    for event in waiting:  # each waiting story is in the digest, by its first headline
        titles = [
            e[v]["title"] for e in EVENTS if e["id"] == event for v in ("en", "en2", "ru", "uk")
        ]
        assert any(t in summary["message"] for t in titles), event

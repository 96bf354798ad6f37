"""Failures no single poll or delivery sees, through the running service's own jobs and
real apprise to a loopback receiver: a rule file broken by an edit (told once, its repair
once) and no successful poll for too long (told once, the return once)."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.config.settings import AdminSettings
from monitor.notify.channels import Channels
from monitor.notify.deliver import deliver_due
from monitor.notify.sender import Sender
from monitor.service.app import open_services
from monitor.service.scheduler import Service
from monitor.store import repository as repo
from tests.servers import HTTPServer, http_server
from tests.test_alerts import later


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # make the change visible even within one mtime tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def setup(tmp_path: Path) -> tuple[Config, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "tanks.yaml", "name: Tanks\nseverity: low\nmatch: {any: [tanks]}\n")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: F, url: 'http://127.0.0.1:9/rss', interval: 2m}\n", "utf-8")
    config = Config(
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        feeds_path=feeds,
        rules_dir=rules,
        admin=AdminSettings(channel_failing_after=900, no_poll_after=1800, batch=0),
    )
    return config, rules / "tanks.yaml"


def titles(hook: HTTPServer) -> list[str]:
    return [str(n["title"]) for n in hook.posted_json()]


def test_a_rule_file_broken_by_an_edit_is_told_once_and_its_repair_once(tmp_path: Path) -> None:
    config, rule = setup(tmp_path)

    async def go(admin: HTTPServer) -> None:
        async with open_services(config, print) as app:
            service = Service(app, [])
            sender = Sender(Channels({"admin": (f"json://127.0.0.1:{admin.port}/",)}), print)

            async def reload_and_deliver() -> None:
                await service._reload()
                await deliver_due(app.services.sessions, sender, later())

            await reload_and_deliver()  # every file loads: nothing to tell
            write(rule, "name: Tanks\nseverity: low\nmatch: {anyy: [tanks]}\n")
            await reload_and_deliver()
            await reload_and_deliver()  # still broken: not told again
            assert titles(admin) == ["Rule file not loaded: tanks.yaml"]
            assert "tanks.yaml:3:9: unknown key 'anyy'" in str(admin.posted_json()[0]["message"])
            write(rule, "name: Tanks\nseverity: low\nmatch: {any: [tanks, armour]}\n")
            await reload_and_deliver()
            await reload_and_deliver()

    with http_server() as admin:
        asyncio.run(go(admin))
        assert titles(admin) == [
            "Rule file not loaded: tanks.yaml",
            "Rule file loads again: tanks.yaml",
        ]


def test_no_successful_poll_for_too_long_is_told_once_and_its_end_once(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)

    async def go(admin: HTTPServer) -> None:
        async with open_services(config, print) as app:
            sessions = app.services.sessions
            service = Service(app, [])
            sender = Sender(Channels({"admin": (f"json://127.0.0.1:{admin.port}/",)}), print)

            async def watch_and_deliver() -> None:
                await service._watch()
                await deliver_due(sessions, sender, later())

            await watch_and_deliver()  # just started: no poll is owed yet
            assert titles(admin) == []
            service._started -= timedelta(minutes=31)  # half an hour of refused polls
            await watch_and_deliver()
            await watch_and_deliver()
            assert titles(admin) == ["No successful poll"]
            assert "none ever was" in str(admin.posted_json()[0]["message"])
            with sessions.begin() as s:
                [feed] = repo.active_feeds(s)
                repo.record_poll(s, feed.id, repo.PollOutcome(200, 60, items=1))
            await watch_and_deliver()
            await watch_and_deliver()

    with http_server() as admin:
        asyncio.run(go(admin))
        assert titles(admin) == ["No successful poll", "Polling works again"]


def test_feeds_yaml_edits_take_effect_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, _ = setup(tmp_path)
    feeds = config.feeds_path

    async def go() -> list[list[str]]:
        seen = []
        async with open_services(config, print) as app:
            service = Service(app, [])

            async def active() -> list[str]:
                await service._reload()
                with app.services.sessions() as s:
                    return sorted(f.name for f in repo.active_feeds(s))

            seen.append(await active())
            write(feeds, feeds.read_text("utf-8") + "- {name: G, url: 'http://127.0.0.1:9/g'}\n")
            seen.append(await active())
            write(feeds, feeds.read_text("utf-8") + "- {name: G, url: 'http://127.0.0.1:9/h'}\n")
            seen.append(await active())  # a broken edit: the last good list stays
            write(feeds, "- {name: G, url: 'http://127.0.0.1:9/g'}\n")
            seen.append(await active())  # F taken out: deactivated, its rows stay
        return seen

    caplog.set_level(logging.ERROR)
    assert asyncio.run(go()) == [["F"], ["F", "G"], ["F", "G"], ["G"]]
    assert f"feeds.yaml not reloaded, the last good list stays: {feeds}:3:" in caplog.text
    assert "duplicate feed name 'G'" in caplog.text

import asyncio
import os
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import open_services
from monitor.config import Config
from monitor.entities import Document
from monitor.rules import load_rules
from monitor.rules.reload import RuleWatcher
from monitor.scheduler import Service


def test_jobs_are_scheduled_and_rule_reload_swaps_the_matcher(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "a.yaml"
    rule.write_text("name: A\nseverity: low\nmatch: {any: [tanks]}\n", "utf-8")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: F, url: 'http://127.0.0.1:9/rss', interval: 2m}\n", "utf-8")
    config = Config(
        database_url=f"sqlite:///{tmp_path / 'm.db'}", feeds_path=feeds, rules_dir=rules
    )

    async def go() -> None:
        async with open_services(config, print) as (svc, notes):
            service = Service(svc, RuleWatcher(rules, notes.rules))
            scheduler = AsyncIOScheduler()
            assert service._schedule(scheduler) == 1
            for name in ("tick", "deliver", "reload-rules"):
                job = scheduler.get_job(name)
                assert job is not None and job.coalesce and job.max_instances == 1
                assert job.misfire_grace_time is not None
            before = svc.matcher
            rule.write_text("name: A\nseverity: low\nmatch: {any: [drones]}\n", "utf-8")
            stat = rule.stat()
            os.utime(rule, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
            await service._reload()
            assert svc.matcher is not before
            assert svc.matcher.match(Document("drones overhead", ""))
            assert not svc.matcher.match(Document("tanks", ""))

    asyncio.run(go())
    assert load_rules(rules).problems == []

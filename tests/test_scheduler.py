import asyncio
import os
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.config import Config
from monitor.entities import Document
from monitor.rules import load_rules
from monitor.service.app import open_services
from monitor.service.scheduler import Service


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
        async with open_services(config, print) as app:
            svc = app.services
            service = Service(app, ["desk"])
            scheduler = AsyncIOScheduler()
            assert service._schedule(scheduler) == 1
            digest = scheduler.get_job("digest-desk")  # hourly by default, once per slot
            assert digest is not None and str(digest.trigger).startswith("cron[")
            for name in ("tick", "deliver", "reload-rules", "watch"):
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


def test_a_hung_poll_holds_up_nothing_and_is_cancelled_after_the_grace(tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.content import TROOPS_TEXT, Item, page, rss
    from tests.servers import Route, http_server, wait_for

    with http_server() as web, http_server() as hook:
        web.routes["/slow.xml"] = Route(b"<rss>" + b" " * 200, trickle=1.0)
        web.routes["/good.xml"] = Route(
            rss("G", [Item("Troops deployed to Belarus", web.url("/a"), "Troops.")])
        )
        web.routes["/a"] = Route(page("A", TROOPS_TEXT))
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            f"- {{name: Slow, url: '{web.url('/slow.xml')}'}}\n"
            f"- {{name: Good, url: '{web.url('/good.xml')}'}}\n",
            "utf-8",
        )
        config = Config(
            database_url=f"sqlite:///{tmp_path / 'm.db'}",
            feeds_path=feeds,
            rules_dir=Path(__file__).resolve().parents[1] / "rules",
            channels={"default": (f"json://127.0.0.1:{hook.port}/h",)},
        )
        config = replace(config, shutdown_grace=1.0)

        async def go() -> float:
            async with open_services(config, print) as app:
                service = Service(app)
                runner = asyncio.create_task(service.run())
                ok = await asyncio.to_thread(wait_for, lambda: hook.posted_json(), 20)
                assert ok, "the good feed was held up"
                assert service._in_flight  # the slow poll is still hanging
                started = asyncio.get_running_loop().time()
                service.stopping.set()
                await asyncio.wait_for(runner, 10)
                return asyncio.get_running_loop().time() - started

        stopped_in = asyncio.run(go())
    assert stopped_in < 3  # grace of 1 s, then the hung poll is cancelled

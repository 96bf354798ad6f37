"""Nothing slow or blocking runs on the event loop: a channel that answers slowly holds up
only itself, a locked deliveries table freezes nothing but delivery, and a heavy playground
request leaves /healthz answering."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, text

from monitor.config import Config
from monitor.entities import Document
from monitor.notify.channels import Channels
from monitor.notify.deliver import deliver_due
from monitor.notify.sender import Sender
from monitor.rules import compile_rules, load_rules
from monitor.store.db import make_engine, session_factory
from monitor.web.app import create_app
from monitor.web.runtime import Runtime
from tests.conftest import REPO
from tests.servers import http_server
from tests.test_deliver import store_hit


async def max_gap(work: asyncio.Future[object] | asyncio.Task[object]) -> float:
    """The longest the loop stood still while ``work`` ran."""
    gaps, last = [0.0], time.monotonic()
    while not work.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        gaps.append(now - last)
        last = now
    await work
    return max(gaps)


def test_a_slow_channel_holds_up_only_itself(engine: Engine) -> None:
    store_hit(engine, ("slow", "fast"))
    with http_server() as slow, http_server() as fast:
        slow.post_delay = 3.0
        answered: dict[str, float] = {}
        channels = Channels(
            {
                "slow": (f"json://127.0.0.1:{slow.port}/",),
                "fast": (f"json://127.0.0.1:{fast.port}/",),
            }
        )

        def watch() -> None:
            started = time.monotonic()
            while time.monotonic() - started < 10 and "fast" not in answered:
                if fast.requests:
                    answered["fast"] = time.monotonic() - started
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        report = asyncio.run(deliver_due(session_factory(engine), Sender(channels, print)))
        watcher.join()
    assert report.sent == 2
    assert answered["fast"] < 2.0  # sent while the slow channel was still answering


def test_a_locked_deliveries_table_does_not_freeze_the_loop(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE feeds RESTART IDENTITY CASCADE"))
    store_hit(engine, ("desk",))
    locker = engine.connect()
    locking = locker.begin()
    locker.execute(text("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE"))  # as VACUUM FULL
    db = ThreadPoolExecutor(1, "db")
    with http_server() as hook:
        channels = Channels({"desk": (f"json://127.0.0.1:{hook.port}/",)})

        async def go() -> tuple[float, int]:
            task = asyncio.ensure_future(
                deliver_due(session_factory(engine), Sender(channels, print), db=db)
            )
            loop = asyncio.get_running_loop()
            loop.call_later(2.0, locking.rollback)  # the lock is held for two seconds
            gap = await max_gap(task)
            return gap, task.result().sent

        gap, sent = asyncio.run(go())
    db.shutdown()
    locker.close()
    engine.dispose()
    assert sent == 1
    assert gap < 0.5, f"the loop stood still for {gap:.2f}s"


class SlowMatcher:
    """The live rules, taking a second per text (a heavy pasted text or rule)."""

    def __init__(self) -> None:
        self.real = compile_rules(load_rules(REPO / "rules").rules)
        self.rules = self.real.rules
        self.threads: list[str] = []

    def marks(self, doc: Document):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        time.sleep(1.0)
        return self.real.marks(doc)

    def match(self, doc: Document):  # type: ignore[no-untyped-def]
        return self.real.match(doc)

    def view(self, doc: Document):  # type: ignore[no-untyped-def]
        return self.real.view(doc)


def test_a_heavy_playground_request_leaves_healthz_answering(engine: Engine) -> None:
    slow = SlowMatcher()

    async def no_pages(url: str) -> None:
        raise AssertionError

    config = Config(rules_dir=REPO / "rules")
    runtime = Runtime(config, session_factory(engine), lambda: slow, no_pages)  # type: ignore[arg-type,return-value]
    app = create_app(runtime)
    body = {"title": "Troops", "text": "Troops moved to the Belarus border near Brest."}

    async def go() -> tuple[float, float, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            started = time.monotonic()
            trial = asyncio.ensure_future(client.post("/api/playground", json=body))
            await asyncio.sleep(0.1)
            health = await client.get("/healthz")
            healthy_after = time.monotonic() - started
            done = await trial
            return healthy_after, time.monotonic() - started, health.status_code, done.status_code

    healthy_after, trial_took, health, done = asyncio.run(go())
    assert (health, done) == (200, 200)
    assert healthy_after < 0.5 < 1.0 <= trial_took
    assert slow.threads == ["playground_0"]

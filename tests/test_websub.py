"""WebSub against a hub written for the tests (tests/websub_hub.py), with the web app
served on loopback for its callbacks: subscription and verification, signed and badly
signed notifications, lease renewal and expiry, denial, unsubscribing a removed feed, a hub
the SSRF guard refuses, and a pushed item read through the same pipeline."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, FetchSettings
from monitor.config.web import WebSettings
from monitor.entities import FeedRef
from monitor.metrics import REGISTRY
from monitor.pipeline import PollReport, poll_safely
from monitor.service.app import App, open_services
from monitor.store import repository as repo
from monitor.store import websub
from monitor.store.models import FeedRow, PushRow, SubscriptionRow
from monitor.store.websub import Advertised, Subscription
from monitor.web.app import create_app
from monitor.web.server import runtime_for, serve_until
from monitor.websub.signature import sign, signed
from monitor.websub.subscriber import VERIFY_WAIT, Subscriber, plan
from tests.conftest import REPO
from tests.content import TROOPS_TEXT, Item, page
from tests.servers import HTTPServer, Route, free_port, http_server
from tests.websub_hub import Delivery, Hub, atom, hub, pushed_service

QUIET = Item("Library hours extended", "", "The council extended library hours.", "q1")
TROOPS = Item("Belarus moves brigades to the border", "", " ".join(TROOPS_TEXT), "t1")


# -- the signature and the plan, alone ---------------------------------------------------------


def test_a_notification_is_signed_only_by_the_hmac_of_its_body_with_the_secret() -> None:
    body = b"<feed>...</feed>"
    for method in ("sha1", "sha256", "sha384", "sha512"):
        assert signed("s3cret", body, sign("s3cret", body, method))
    assert not signed("s3cret", body, sign("other", body))
    assert not signed("s3cret", body + b" ", sign("s3cret", body))
    assert not signed("s3cret", body, None)
    assert not signed("s3cret", body, "md5=" + sign("s3cret", body).split("=")[1])
    assert not signed("s3cret", body, "sha256=")


NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def sub(**changes: object) -> Subscription:
    base = Subscription(1, "https://hub.example/", "https://wire.example/feed", "k", "s",
                        "subscribe", "active", NOW + timedelta(hours=1), 0,
                        expires_at=NOW + timedelta(hours=2))  # fmt: skip
    return Subscription(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_the_plan_subscribes_renews_retries_and_unsubscribes_as_each_row_needs() -> None:
    feed = Advertised(1, "Wire", "https://wire.example/feed", "https://hub.example/",
                      "https://wire.example/feed")  # fmt: skip

    def actions(wanted: dict[int, Advertised], subs: dict[int, Subscription]) -> list[str]:
        return [step.action for step in plan(wanted, subs, NOW)]

    new = plan({1: feed}, {}, NOW)
    assert [s.action for s in new] == ["subscribe"] and len(new[0].sub.secret) == 64
    assert actions({1: feed}, {1: sub()}) == []  # live, renewal not due
    assert actions({1: feed}, {1: sub(next_at=NOW)}) == ["subscribe"]  # renewal
    assert actions({1: feed}, {1: sub(state="failed", next_at=NOW)}) == ["subscribe"]  # retry
    assert actions({1: feed}, {1: sub(state="requested", next_at=NOW)}) == ["overdue"]
    moved = plan({1: Advertised(1, "Wire", feed.url, "https://hub2.example/", feed.topic)},
                 {1: sub()}, NOW)  # fmt: skip
    assert moved[0].action == "subscribe" and moved[0].sub.hub == "https://hub2.example/"
    assert actions({}, {1: sub()}) == ["unsubscribe"]  # the feed was removed
    assert actions({}, {1: sub(state="denied")}) == ["drop"]  # nothing live at the hub
    waiting = sub(mode="unsubscribe", state="requested")
    assert actions({}, {1: waiting}) == []
    assert actions({}, {1: sub(mode="unsubscribe", next_at=NOW)}) == ["drop"]


# -- against the test hub, with the web app serving the callback ------------------------------


@dataclass
class Desk:
    app: App
    hub: Hub
    site: HTTPServer
    hook: HTTPServer
    base: str
    subscriber: Subscriber

    @property
    def topic(self) -> str:
        return self.site.url("/feed")

    def serve(self, items: list[Item], hub_url: str | None = None) -> None:
        body = atom(self.topic, hub_url or self.hub.url, items)
        self.site.routes["/feed"] = Route(body, headers={"Content-Type": "application/atom+xml"})

    def rows(self, model: type) -> list:  # type: ignore[type-arg]
        with self.app.services.sessions() as session:
            return list(session.scalars(select(model)))

    def subscription(self) -> SubscriptionRow:
        (row,) = self.rows(SubscriptionRow)
        return row  # type: ignore[no-any-return]

    async def publish(self, body: bytes, signing: str = "right") -> list[Delivery]:
        """The hub's POSTs, off the event loop the callback is served on."""
        return await asyncio.to_thread(self.hub.publish, self.topic, body, signing=signing)

    def live(self) -> set[int]:
        with self.app.services.sessions() as session:
            return websub.live(session, [1], datetime.now(UTC))

    def feed_fetches(self) -> int:
        return sum(1 for r in self.site.requests if r.path == "/feed")

    async def claim(self) -> list[FeedRef]:
        with self.app.services.sessions.begin() as session:
            return repo.claim_due_feeds(session, datetime.now(UTC), 10, "test", 60, 2)

    async def poll(self) -> list[PollReport]:
        return [await poll_safely(self.app.services, feed) for feed in await self.claim()]


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


@asynccontextmanager
async def desk(tmp_path: Path, database_url: str, **hub_options: object) -> AsyncIterator[Desk]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with http_server() as site, http_server() as hook, hub(**hub_options) as the_hub:
        for n, item in enumerate((QUIET, TROOPS)):
            site.routes[f"/news/{n}"] = Route(page(item.title, [item.summary]))
        (tmp_path / "feeds.yaml").write_text(f"- {{name: Wire, url: '{site.url('/feed')}'}}\n")
        config = Config(
            database_url=database_url,
            feeds_path=tmp_path / "feeds.yaml",
            config_path=tmp_path / "monitor.yaml",
            rules_dir=REPO / "rules",
            channels={"default": (f"json://127.0.0.1:{hook.port}/hook",)},
            fetch=FetchSettings(allow=frozenset({f"127.0.0.1:{the_hub.port}"})),
            web=WebSettings(base, None, {}, b"k" * 32),
        )
        async with open_services(config, print) as app:
            stop = asyncio.Event()
            web = asyncio.ensure_future(
                serve_until(create_app(runtime_for(app)), "127.0.0.1", port, stop)
            )
            subscriber = Subscriber(app.services.sessions, app.services.net, base)
            try:
                the = Desk(app, the_hub, site, hook, base, subscriber)
                the.serve([_at(site, 0, QUIET)])
                yield the
            finally:
                stop.set()
                await web


def _at(site: HTTPServer, n: int, item: Item) -> Item:
    return Item(item.title, site.url(f"/news/{n}"), item.summary, item.guid)


async def subscribed(the: Desk) -> None:
    """First poll (the hub is found), a pass (the hub is asked), the hub's verification."""
    assert (await the.poll())[0].error is None
    await the.subscriber.run_pass(datetime.now(UTC))
    assert await until(lambda: bool(the.hub.active(the.topic)))


def counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("monitor_websub_notifications_total", {"outcome": outcome})
    return value or 0.0


def post(url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, body, headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_hub_is_subscribed_verified_and_only_its_signed_pushes_are_read(
    tmp_path: Path, database_url: str
) -> None:
    async def go() -> None:
        async with desk(tmp_path, database_url) as the:
            await subscribed(the)
            (form,) = the.hub.requests
            row = the.subscription()
            assert form["hub.mode"] == "subscribe" and form["hub.topic"] == the.topic
            assert form["hub.callback"] == f"{the.base}/websub/{row.key}"
            assert form["hub.secret"] == row.secret and int(form["hub.lease_seconds"]) > 0
            assert the.hub.verifications == [("subscribe", 200, True)]
            assert row.state == "active" and row.lease_seconds == 3600
            assert row.expires_at is not None
            assert row.expires_at - datetime.now(UTC) > timedelta(minutes=59)
            with the.app.services.sessions() as session:
                (status,) = repo.feed_statuses(session)  # the feeds page and `feeds health`
            assert status.push and status.push.startswith(f"WebSub: pushed by {the.hub.url}")

            fetches, bad = the.feed_fetches(), counted("bad_signature")
            pushed = atom(the.topic, the.hub.url, [_at(the.site, 1, TROOPS)])
            wrong = await the.publish(pushed, signing="wrong")
            unsigned = await the.publish(pushed, signing="none")
            assert [d.status for d in wrong + unsigned] == [403, 403]
            assert counted("bad_signature") == bad + 2 and not the.rows(PushRow)
            assert await asyncio.to_thread(post, f"{the.base}/websub/no-such-key", pushed) == 404
            assert [d.status for d in await the.publish(pushed)] == [202]

            (report,) = await the.poll()  # due at once, though its next check is far
            assert report.pushed and report.new == 1 and report.hits >= 1
            assert the.feed_fetches() == fetches  # read what was pushed, not the feed
            assert not the.rows(PushRow)
            (feed,) = the.rows(FeedRow)
            assert feed.next_check_at - datetime.now(UTC) > timedelta(minutes=59)  # safety

    asyncio.run(go())


def test_a_lease_is_renewed_before_it_ends_and_an_ended_one_is_taken_again(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with desk(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", lease=3600) as the:
            await subscribed(the)
            first = the.subscription()
            await the.subscriber.run_pass(datetime.now(UTC) + timedelta(minutes=30))
            assert len(the.hub.requests) == 1  # not yet
            await the.subscriber.run_pass(datetime.now(UTC) + timedelta(minutes=46))
            assert len(the.hub.requests) == 2  # three quarters of the lease gone: renewed
            renewal = the.hub.requests[1]
            assert renewal["hub.callback"].endswith(first.key)
            assert renewal["hub.secret"] == first.secret
            assert await until(lambda: len(the.hub.verifications) == 2)
            assert await until(lambda: the.subscription().verified_at > first.verified_at)

        (tmp_path / "short").mkdir()
        async with desk(tmp_path / "short", f"sqlite:///{tmp_path / 's.db'}", lease=1) as the:
            await subscribed(the)
            assert the.live() == {1}
            await asyncio.sleep(1.2)
            assert the.hub.active(the.topic) == []  # the hub forgot us
            assert await the.publish(b"<feed/>") == []
            assert the.live() == set() and await the.claim() == []
            await the.subscriber.run_pass(datetime.now(UTC))  # subscribes again, polls now
            assert the.hub.requests[-1]["hub.mode"] == "subscribe"
            (feed,) = await the.claim()
            assert not feed.subscribed  # polled at its own pace until verified again
            assert await until(lambda: the.live() == {1})

    asyncio.run(go())


def test_a_removed_feed_is_unsubscribed_and_its_callback_closes(tmp_path: Path) -> None:
    async def go() -> None:
        async with desk(tmp_path, f"sqlite:///{tmp_path / 'm.db'}") as the:
            await subscribed(the)
            key = the.subscription().key
            with the.app.services.sessions.begin() as session:
                repo.sync_feeds(session, [])  # feeds.yaml no longer has it
            await the.subscriber.run_pass(datetime.now(UTC))
            assert the.hub.requests[-1]["hub.mode"] == "unsubscribe"
            assert await until(lambda: the.hub.active(the.topic) == [])
            assert the.hub.verifications[-1] == ("unsubscribe", 200, True)
            assert the.rows(SubscriptionRow) == []
            url = f"{the.base}/websub/{key}"
            assert await asyncio.to_thread(post, url, b"<feed/>") == 404

    asyncio.run(go())


def test_only_intents_we_asked_for_are_verified(tmp_path: Path) -> None:
    """Somebody else's hub cannot unsubscribe us, nor subscribe us to another topic."""

    async def go() -> None:
        async with desk(tmp_path, f"sqlite:///{tmp_path / 'm.db'}") as the:
            await subscribed(the)
            callback = f"{the.base}/websub/{the.subscription().key}"
            asks = [
                {"hub.mode": "unsubscribe", "hub.topic": the.topic, "hub.challenge": "x"},
                {
                    "hub.mode": "subscribe",
                    "hub.topic": "http://evil.example/",
                    "hub.challenge": "x",
                },
                {"hub.mode": "subscribe", "hub.topic": the.topic},  # no challenge
            ]
            for query in asks:
                assert await asyncio.to_thread(Hub._get, callback, query) == (404, "")
            assert the.subscription().state == "active"

    asyncio.run(go())


def test_a_denial_an_unverified_request_and_a_refusal_are_kept_and_retried_later(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with desk(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", deny=True) as the:
            assert (await the.poll())[0].error is None
            await the.subscriber.run_pass(datetime.now(UTC))
            assert await until(lambda: the.subscription().state == "denied")
            row = the.subscription()
            assert "not on our list" in (row.last_error or "")
            assert row.next_at - datetime.now(UTC) > timedelta(hours=23)
            assert [f.name for f in await the.claim()] == ["Wire"]  # polled at its own pace
        (tmp_path / "quiet").mkdir()
        async with desk(tmp_path / "quiet", f"sqlite:///{tmp_path / 'q.db'}", verify=False) as the:
            assert (await the.poll())[0].error is None
            await the.subscriber.run_pass(datetime.now(UTC))
            assert the.subscription().state == "requested"
            await the.subscriber.run_pass(datetime.now(UTC) + timedelta(seconds=VERIFY_WAIT + 1))
            row = the.subscription()
            assert row.state == "failed" and "did not verify within 10 minutes" in row.last_error
            assert f"{the.base}/websub/{row.key}" in row.last_error  # says which address
        (tmp_path / "no").mkdir()
        async with desk(tmp_path / "no", f"sqlite:///{tmp_path / 'n.db'}", status=400) as the:
            assert (await the.poll())[0].error is None
            await the.subscriber.run_pass(datetime.now(UTC))
            row = the.subscription()
            assert row.state == "failed" and row.attempts == 1
            assert row.last_error == "the hub answered HTTP 400"
            assert row.next_at - datetime.now(UTC) > timedelta(minutes=4)  # backing off

    asyncio.run(go())


def test_a_hub_at_a_private_address_is_never_asked(tmp_path: Path) -> None:
    async def go() -> None:
        with hub() as private:  # loopback, not the feed's own address, not allowed
            async with desk(tmp_path, f"sqlite:///{tmp_path / 'm.db'}") as the:
                the.serve([_at(the.site, 0, QUIET)], hub_url=private.url)
                assert (await the.poll())[0].error is None
                await the.subscriber.run_pass(datetime.now(UTC))
                assert private.requests == []
                row = the.subscription()
                assert row.state == "failed" and "blocked destination" in row.last_error

    asyncio.run(go())


def test_without_a_reachable_base_url_no_hub_is_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        async with desk(tmp_path, f"sqlite:///{tmp_path / 'm.db'}") as the:
            assert (await the.poll())[0].error is None
            closed = f"http://127.0.0.1:{free_port()}"
            away = Subscriber(the.app.services.sessions, the.app.services.net, closed)
            with caplog.at_level(logging.WARNING):
                assert await away.run_pass(datetime.now(UTC)) == []
            assert the.hub.requests == [] and the.rows(SubscriptionRow) == []
            assert f"{closed}/healthz does not answer" in caplog.text

    asyncio.run(go())


def test_a_pushed_item_alerts_within_seconds_of_the_hubs_notification(
    tmp_path: Path, database_url: str
) -> None:
    """`monitor run --http` end to end; bench/websub_bench.py reports the figure."""
    with pushed_service(tmp_path, database_url) as service:
        fetches = sum(1 for r in service.site.requests if r.path == "/feed")
        seconds = service.push(1, TROOPS)
        print(f"\npushed item to alert: {seconds:.2f} s ({database_url.split(':')[0]})")
        assert seconds is not None and 0 < seconds < 5.0
        (alert,) = service.alerts()
        assert "Troop movements" in alert.body.decode() and TROOPS.title in alert.body.decode()
        assert sum(1 for r in service.site.requests if r.path == "/feed") == fetches

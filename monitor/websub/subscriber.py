"""The subscriber's pass: what each feed's subscription needs now, asked of its hub.

``plan`` decides from the rows alone (a pure function, so each case is tested without a
hub); ``run_pass`` asks the hubs and keeps what they answered. A hub's verification and
its notifications come to the web app (``callback``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.feeds.guard import host_port
from monitor.sources import Net
from monitor.store import websub as store
from monitor.store.websub import Advertised, Subscription
from monitor.websub.hub import ask
from monitor.websub.signature import new_key, new_secret

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = 10 * 86400  # asked for; the hub decides
VERIFY_WAIT = 600.0  # seconds a hub has to verify what it accepted
RETRY_FIRST, RETRY_MAX = 300.0, 6 * 3600.0  # backoff after a refused or unverified request
DENIED_RETRY = 86400.0
RENEW_AT = 0.75  # of the lease: renewed with a quarter of it left
PER_PASS = 20  # hub requests per pass; the rest wait for the next
REACH_AGAIN = 600.0  # seconds before an unreachable base URL is tried again


def callback_url(base_url: str, key: str) -> str:
    return f"{base_url.rstrip('/')}/websub/{key}"


def renew_after(lease: int) -> float:
    return lease * RENEW_AT


def backoff(attempts: int) -> float:
    return min(RETRY_MAX, RETRY_FIRST * 2.0 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Step:
    """One thing to do: ``subscribe`` (new, renewed, retried), ``unsubscribe`` (the feed
    is gone), ``overdue`` (asked, never verified), ``drop`` (nothing live at the hub)."""

    action: str
    sub: Subscription
    feed: str  # its name, for the log
    origin: str  # the feed's host:port (the hub may be there even if private)


def plan(wanted: dict[int, Advertised], subs: dict[int, Subscription], now: datetime) -> list[Step]:
    steps = [_for_feed(feed, subs.get(feed_id), now) for feed_id, feed in wanted.items()]
    steps += [_for_gone(sub, now) for feed_id, sub in subs.items() if feed_id not in wanted]
    return [step for step in steps if step is not None]


def _for_feed(feed: Advertised, sub: Subscription | None, now: datetime) -> Step | None:
    origin = host_port(feed.url)
    if sub is None:
        key, secret = new_key(), new_secret()
        new = Subscription(
            feed.feed_id, feed.hub, feed.topic, key, secret, "subscribe", "requested", now, 0
        )
        return Step("subscribe", new, feed.name, origin)
    if sub.mode != "subscribe" or (sub.hub, sub.topic) != (feed.hub, feed.topic):
        moved = replace(sub, hub=feed.hub, topic=feed.topic, mode="subscribe", state="requested")
        return Step("subscribe", moved, feed.name, origin)
    if sub.next_at > now:
        return None
    if sub.state == "requested":
        return Step("overdue", sub, feed.name, origin)
    return Step("subscribe", sub, feed.name, origin)  # renewal, or a retry


def _for_gone(sub: Subscription, now: datetime) -> Step | None:
    origin = host_port(sub.topic)
    if sub.mode == "subscribe" and sub.state in {"active", "requested"}:
        return Step("unsubscribe", sub, f"feed #{sub.feed_id}", origin)
    if sub.mode == "subscribe" or sub.next_at <= now:
        return Step("drop", sub, f"feed #{sub.feed_id}", origin)
    return None  # waiting for the hub to verify the unsubscription


@dataclass
class Subscriber:
    """Runs the passes for one process: the base URL's reachability is checked before the
    first request and again after it failed."""

    sessions: sessionmaker[Session]
    net: Net
    base_url: str
    unreachable_at: datetime | None = None

    async def run_pass(self, now: datetime) -> list[tuple[Step, str | None]]:
        """Every step due now (up to ``PER_PASS`` hub requests), with what came of it."""
        wanted, subs = await _db(
            self.sessions, lambda s: (store.advertised(s), store.subscriptions(s))
        )
        steps = plan(wanted, subs, now)
        if any(s.action in {"subscribe", "unsubscribe"} for s in steps) and not (
            await self.reachable(now)
        ):
            steps = [s for s in steps if s.action not in {"subscribe", "unsubscribe"}]
        done = []
        for step in steps[:PER_PASS]:
            done.append((step, await self._take(step, now)))
        return done

    async def reachable(self, now: datetime) -> bool:
        if self.unreachable_at and (now - self.unreachable_at).total_seconds() < REACH_AGAIN:
            return False
        url = f"{self.base_url.rstrip('/')}/healthz"
        try:  # the operator's own address: not a link from a feed, so no SSRF guard
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                answer = await client.get(url)
            ok = answer.status_code == 200 and answer.text.strip() == "ok"
            why = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            log.warning(
                "WebSub: no hub is asked to push: %s does not answer (%s); the web app must "
                "be served there (`monitor run --http` or `monitor serve`)",
                url,
                why,
            )
            self.unreachable_at = now
            return False
        self.unreachable_at = None
        return True

    async def _take(self, step: Step, now: datetime) -> str | None:
        sub = step.sub
        if step.action == "drop":
            await _db(self.sessions, lambda s: store.remove(s, sub.feed_id))
            return None
        callback = callback_url(self.base_url, sub.key)
        if step.action == "overdue":
            minutes = VERIFY_WAIT / 60
            why = f"the hub did not verify within {minutes:g} minutes: can it reach {callback}?"
            await _db(self.sessions, lambda s: self._lapsed(s, sub, why, now))
            return why
        intent = _intent(step, now)  # kept before asking: a hub may verify before it answers
        await _db(self.sessions, lambda s: self._asking(s, step, intent, now))
        error = await ask(self.net, sub.hub, step.origin, _form(step, callback))
        outcome = "error" if error else "accepted"
        metrics.WEBSUB_REQUESTS.labels(mode=step.action, outcome=outcome).inc()
        if error:
            await _db(self.sessions, lambda s: _refused(s, step, error, now))
        level = logging.WARNING if error else logging.INFO
        log.log(level, "WebSub %s %s at %s: %s", step.action, step.feed, sub.hub, error or outcome)
        return error

    @staticmethod
    def _asking(session: Session, step: Step, intent: Subscription, now: datetime) -> None:
        if step.sub.expires_at is not None and step.sub.expires_at <= now:
            store.poll_soon(session, step.sub.feed_id, now)  # the lease ran out unrenewed
        store.requested(session, intent, now)

    @staticmethod
    def _lapsed(session: Session, sub: Subscription, why: str, now: datetime) -> None:
        store.refused(session, sub.key, why, now + timedelta(seconds=backoff(sub.attempts + 1)))
        store.poll_soon(session, sub.feed_id, now)


def _live(sub: Subscription, now: datetime) -> bool:
    return sub.state == "active" and sub.expires_at is not None and sub.expires_at > now


def _intent(step: Step, now: datetime) -> Subscription:
    """The row while the hub is asked: what we ask for, due again if no verification comes
    (a live lease stays live meanwhile)."""
    wait = now + timedelta(seconds=VERIFY_WAIT)
    if step.action == "unsubscribe":
        return replace(step.sub, mode="unsubscribe", state="requested", next_at=wait)
    state = "active" if _live(step.sub, now) else "requested"
    return replace(step.sub, mode="subscribe", state=state, next_at=wait)


def _refused(session: Session, step: Step, error: str, now: datetime) -> None:
    """The hub would not take it: an unsubscription lapses with its lease; a subscription
    is tried again with backoff."""
    sub = step.sub
    if step.action == "unsubscribe":
        store.remove(session, sub.feed_id)
        return
    attempts = sub.attempts + 1
    retry = now + timedelta(seconds=backoff(attempts))
    state = "active" if _live(sub, now) else "failed"
    kept = replace(sub, state=state, attempts=attempts, next_at=retry, last_error=error)
    store.requested(session, kept, now)


def _form(step: Step, callback: str) -> dict[str, str]:
    form = {
        "hub.callback": callback,
        "hub.mode": step.action,
        "hub.topic": step.sub.topic,
    }
    if step.action == "subscribe":
        form |= {"hub.secret": step.sub.secret, "hub.lease_seconds": str(LEASE)}
    return form


async def _db(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    def run() -> T:
        with sessions.begin() as session:
            return work(session)

    return await asyncio.to_thread(run)

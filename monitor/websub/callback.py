"""What the web app's ``/websub/<key>`` does, apart from HTTP: a hub verifying an intent
(we agree only to what we asked, for the topic we asked it for) and a notification (kept
only when signed with the subscription's secret; its feed is then due at once)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.store import websub as store
from monitor.websub.signature import signed
from monitor.websub.subscriber import DENIED_RETRY, LEASE, renew_after

log = logging.getLogger(__name__)
MAX_LEASE = 366 * 86400  # a hub granting more is taken at this (renewed all the same)


def verify(
    sessions: sessionmaker[Session], key: str, params: Mapping[str, str], now: datetime
) -> str | None:
    """The challenge to echo when we asked for this (``hub.mode``, ``hub.topic``); None
    (answered 404) when we did not. A denial is kept, and answered without a challenge."""
    mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
    with sessions.begin() as session:
        sub = store.by_key(session, key)
        if sub is None or topic != sub.topic:
            return None
        if mode == "denied":
            why = f"denied by the hub: {params.get('hub.reason') or 'no reason given'}"
            store.refused(session, key, why[:500], now + timedelta(seconds=DENIED_RETRY))
            store.poll_soon(session, sub.feed_id, now)
            log.warning("WebSub: the hub %s denied feed #%d: %s", sub.hub, sub.feed_id, why)
            return ""
        challenge = params.get("hub.challenge", "")
        if mode != sub.mode or not challenge:
            return None
        if mode == "unsubscribe":
            store.remove(session, sub.feed_id)
        else:
            lease = _lease(params.get("hub.lease_seconds"))
            store.verified(session, key, lease, renew_after(lease), now)
        log.info("WebSub: %s verified for feed #%d by %s", mode, sub.feed_id, sub.hub)
        return challenge


def _lease(raw: str | None) -> int:
    try:
        lease = int(raw or LEASE)
    except ValueError:
        lease = LEASE
    return max(1, min(lease, MAX_LEASE))


def notified(
    sessions: sessionmaker[Session],
    key: str,
    body: bytes,
    content_type: str,
    signature: str | None,
) -> int:
    """Keep a pushed body for its feed's next poll. The answer for the hub: 202 kept, 404
    no such subscription, 410 unsubscribed, 403 a bad or missing signature (counted in
    ``monitor_websub_notifications``, and logged with the feed)."""
    with sessions.begin() as session:
        sub = store.by_key(session, key)
        if sub is None:
            outcome, status = "unknown", 404
        elif not signed(sub.secret, body, signature):
            outcome, status = "bad_signature", 403
            log.warning(
                "WebSub: a notification for feed #%d from %s refused: %s",
                sub.feed_id,
                sub.hub,
                "bad signature" if signature else "no X-Hub-Signature",
            )
        elif sub.mode != "subscribe":
            outcome, status = "unsubscribed", 410
        else:
            store.add_push(session, sub.feed_id, body, content_type)
            outcome, status = "accepted", 202
    metrics.WEBSUB_NOTIFICATIONS.labels(outcome=outcome).inc()
    return status

"""Failures that no single poll or delivery sees, told to the admin once each, with their
recovery once: a rule file that stopped loading after an edit, and no successful poll for
``MONITOR_NO_POLL_AFTER``. Both are conditions in the database (``monitor.store.conditions``),
so of several replicas watching the same thing exactly one tells. Run on a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.store import repository as repo
from monitor.store.notices import ADMIN_CHANNEL

RULE_FILE = "rule_file"
NO_POLL = "no_poll"
WATCH_INTERVAL = 60.0


def check_rule_files(
    sessions: sessionmaker[Session], broken: Mapping[str, str], now: datetime
) -> None:
    """``broken``: the rule files that do not load now, by name, with their first problem."""
    with sessions.begin() as session:
        raised, cleared = repo.sync_conditions(session, RULE_FILE, broken, now)
        for name in raised:
            repo.queue_notice(
                session,
                ADMIN_CHANNEL,
                f"Rule file not loaded: {name}",
                f"{broken[name]}\nThe last version that loaded stays in force (none, for a "
                "new file). `monitor rules check` lists every problem.",
            )
        for name in cleared:
            repo.queue_notice(
                session,
                ADMIN_CHANNEL,
                f"Rule file loads again: {name}",
                f"{name} loads again; its rule is live as written now.",
            )


def check_polling(
    sessions: sessionmaker[Session], now: datetime, after: float, started: datetime
) -> None:
    """Raise "no successful poll" when no feed has been polled successfully for ``after``
    seconds (counted from ``started`` while none ever was), clear it when one is."""
    with sessions.begin() as session:
        feeds, latest = repo.last_poll_success(session)
        since = max(latest, started) if latest else started
        stalled = feeds > 0 and (now - since).total_seconds() >= after
        last = f"the last was at {latest:%Y-%m-%d %H:%M} UTC" if latest else "none ever was"
        wrong = {"feeds": last} if stalled else {}
        raised, cleared = repo.sync_conditions(session, NO_POLL, wrong, now)
        if raised:
            repo.queue_notice(
                session,
                ADMIN_CHANNEL,
                "No successful poll",
                f"None of {feeds} feeds has been polled successfully for more than "
                f"{after / 60:g} minutes ({last}). The network, DNS or a proxy is the "
                "usual cause; `monitor feeds health` shows each feed's last error.",
            )
        if cleared:
            repo.queue_notice(
                session,
                ADMIN_CHANNEL,
                "Polling works again",
                f"Feeds are being polled successfully again (the latest at {latest:%H:%M} UTC).",
            )

"""What the service watches besides its feeds: failures no single poll or delivery sees,
told to the admin once each with their recovery once (a rule file that stopped loading
after an edit, no successful poll for ``MONITOR_NO_POLL_AFTER``; conditions in the
database, so of several replicas exactly one tells), and feeds.yaml, reread when it changes
(an edit adds, changes or deactivates feeds within seconds; a broken one is logged with
file and line and the last good list stays). Run on a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import FeedConfig
from monitor.errors import ConfigError
from monitor.sources import load_feeds
from monitor.store import repository as repo
from monitor.store.notices import ADMIN_CHANNEL

RULE_FILE = "rule_file"
NO_POLL = "no_poll"
WATCH_INTERVAL = 60.0
log = logging.getLogger(__name__)
Mark = tuple[int, int] | None  # a file's modification time and size


def _mark(path: Path) -> Mark:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class FeedsFile:
    """feeds.yaml as last read: ``changed`` gives the new list when the file changed and
    reads, else None (a broken edit is logged and the last good list stays in force)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mark = _mark(path)

    def changed(self) -> list[FeedConfig] | None:
        mark = _mark(self.path)
        if mark == self._mark:
            return None
        self._mark = mark
        try:
            return load_feeds(self.path)
        except ConfigError as exc:
            log.error("feeds.yaml not reloaded, the last good list stays: %s", exc)
            return None


def sync_feeds(sessions: sessionmaker[Session], feeds: list[FeedConfig]) -> int:
    """Make the feeds table agree with a new feeds.yaml; how many feeds are active."""
    with sessions.begin() as session:
        active = repo.sync_feeds(session, feeds)
    log.info("feeds.yaml reloaded: %d feeds active", len(active))
    return len(active)


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

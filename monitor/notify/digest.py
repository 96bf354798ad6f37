"""Digests: one message per channel and scheduled slot with what waited for it, stories
grouped by rule, sent once across all processes."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.entities import Alert
from monitor.errors import DeliveryError
from monitor.notify.deliver import in_db
from monitor.notify.render import DigestGroup, DigestStory, one_line
from monitor.notify.sender import Sender
from monitor.store import repository as repo

log = logging.getLogger(__name__)


async def send_digest(
    sessions: sessionmaker[Session],
    sender: Sender,
    channel: str,
    scheduled_for: datetime,
    db: Executor | None = None,
) -> int | None:
    """The digest of ``channel`` for one scheduled slot, sent once across all processes.
    Returns how many items it held (0: nothing to say, nothing sent), None if another
    process had the slot already."""
    claimed = await in_db(db, _claim, sessions, channel, scheduled_for)
    if claimed is None:
        return None
    digest_id, ids, groups = claimed
    error = None
    if ids:
        try:
            await asyncio.to_thread(sender.send_digest, channel, groups)
        except DeliveryError as exc:
            error = str(exc)
            log.error("digest for %s not sent (items stay queued): %s", channel, exc)
    await in_db(db, _finish, sessions, digest_id, ids, error)
    return len(ids)


def _claim(
    sessions: sessionmaker[Session], channel: str, scheduled_for: datetime
) -> tuple[int, list[int], list[DigestGroup]] | None:
    with sessions.begin() as session:
        digest_id = repo.claim_digest(session, channel, scheduled_for)
    if digest_id is None:
        return None
    with sessions() as session:
        items = repo.digest_items(session, channel)
        groups = _groups(session, items)
    return digest_id, [alert.delivery_id for alert, _ in items], groups


def _finish(
    sessions: sessionmaker[Session], digest_id: int, ids: list[int], error: str | None
) -> None:
    with sessions.begin() as session:
        repo.finish_digest(session, digest_id, ids, error)


@dataclass
class _Entry:
    alert: Alert
    headline: str
    source: str
    url: str
    also: list[str] = field(default_factory=list)


def _groups(session: Session, items: list[tuple[Alert, str]]) -> list[DigestGroup]:
    """Stories by rule (most severe first); another outlet's copy becomes "also reported
    by" under its story, even when the story itself was alerted earlier."""
    entries: dict[tuple[str, int], _Entry] = {}
    for alert, status in items:
        key = (alert.rule_id, alert.story_id or alert.article_id)
        entry = entries.get(key)
        if entry is None:
            first = (
                repo.story_headline(session, alert.story_id)
                if status == "folded" and alert.story_id is not None
                else None
            )
            headline, source, url = first or (alert.headline, alert.source, alert.url)
            entry = entries[key] = _Entry(alert, headline, source, url)
        if status == "folded":
            entry.also.append(alert.source)
    by_rule: dict[tuple[int, str], list[_Entry]] = {}
    for entry in entries.values():
        by_rule.setdefault((int(entry.alert.severity), entry.alert.rule_id), []).append(entry)
    groups = [
        DigestGroup(
            group[0].alert.severity.name,
            group[0].alert.rule_name,
            tuple(
                DigestStory(
                    one_line(e.headline),
                    one_line(e.source),
                    e.url,
                    _published(e.alert),
                    tuple(dict.fromkeys(e.also)),
                )
                for e in group
            ),
        )
        for group in sorted(by_rule.values(), key=lambda g: -int(g[0].alert.severity))
    ]
    return groups


def _published(alert: Alert) -> str:
    return alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "unknown"

"""Digests: one message per channel and scheduled slot with what waited for it, each story
once under its highest severity, sent once across all processes."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.entities import Alert, Severity
from monitor.errors import DeliveryError
from monitor.notify.deliver import CATCH_UP, in_db
from monitor.notify.render import DigestGroup, DigestStory, one_line
from monitor.notify.sender import Sender
from monitor.store import repository as repo
from monitor.store import story_messages as told_db

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
    claimed = await in_db(db, _claim, sessions, channel, scheduled_for, sender.base_url)
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
    sessions: sessionmaker[Session], channel: str, scheduled_for: datetime, base_url: str | None
) -> tuple[int, list[int], list[DigestGroup]] | None:
    with sessions.begin() as session:
        digest_id = repo.claim_digest(session, channel, scheduled_for)
    if digest_id is None:
        return None
    with sessions() as session:
        items = repo.digest_items(session, channel)
        groups = _groups(session, items, base_url)
    return digest_id, [alert.delivery_id for alert, _, _ in items], groups


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
    severity: Severity
    also: dict[str, None] = field(default_factory=dict)
    rules: dict[str, Severity] = field(default_factory=dict)
    languages: dict[str, None] = field(default_factory=dict)
    catch_up: bool = False


def _groups(
    session: Session, items: list[tuple[Alert, str, str | None]], base_url: str | None = None
) -> list[DigestGroup]:
    """Each story once, under its highest severity, with every rule that fired on it; other
    outlets' reports become "also reported by", with their languages, even when the story
    itself was alerted earlier."""
    entries: dict[int, _Entry] = {}
    for alert, status, why in items:
        key = alert.story_id or alert.article_id
        entry = entries.get(key)
        if entry is None:
            first = (
                repo.story_headline(session, alert.story_id)
                if status == "folded" and alert.story_id is not None
                else None
            )
            headline, source, url = first or (alert.headline, alert.source, alert.url)
            entry = entries[key] = _Entry(alert, headline, source, url, alert.severity)
        entry.severity = max(entry.severity, alert.severity)
        entry.catch_up = entry.catch_up or bool(why and why.startswith(CATCH_UP))
        entry.rules[alert.rule_name] = max(
            entry.rules.get(alert.rule_name, alert.severity), alert.severity
        )
        if alert.language:
            entry.languages[alert.language] = None
        if status == "folded" and alert.source != entry.source:
            entry.also[alert.source] = None
    spreads = told_db.spread(session, entries)  # the languages of every report so far
    for key, entry in entries.items():
        if key in spreads:
            entry.languages = dict.fromkeys(spreads[key].languages) | entry.languages
    by_severity: dict[Severity, list[tuple[int, _Entry]]] = {}
    for key, entry in entries.items():
        by_severity.setdefault(entry.severity, []).append((key, entry))
    return [
        DigestGroup(
            severity.name,
            tuple(
                DigestStory(
                    one_line(e.headline),
                    one_line(e.source),
                    e.url,
                    _published(e.alert),
                    tuple(one_line(o, 80) for o in e.also),
                    tuple(sorted(e.rules, key=lambda r: (-e.rules[r], r))),
                    tuple(sorted(e.languages)),
                    e.catch_up,
                    f"{base_url.rstrip('/')}/stories/{key}" if base_url else None,
                )
                for key, e in group
            ),
        )
        for severity, group in sorted(by_severity.items(), key=lambda g: -g[0])
    ]


def _published(alert: Alert) -> str:
    return alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "unknown"

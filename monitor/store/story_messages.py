"""What each channel was told of each story, and what the story holds now.

A channel's first message about a story is reserved before it is sent (a row keyed by
story and channel): of two replicas handling two reports of one story at once, exactly one
sends; a restart finds the row and folds instead of sending again. A follow-up is reserved
the same way, by moving ``followup_at`` forward in one conditional UPDATE."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.store.facts import facts_from_json
from monitor.store.models import ArticleRow, DeliveryRow, FeedRow, HitRow, StoryMessageRow

Key = tuple[int, str]  # (story, channel)


@dataclass(frozen=True)
class Told:
    """What a channel was told of a story."""

    status: str  # sending | sent | digest | digested (a digest carried it)
    delivery_id: int | None
    severity: int
    rules: tuple[str, ...]
    figures: dict[str, float]
    outlets: int
    languages: int
    followup_at: datetime | None


@dataclass(frozen=True)
class Spread:
    """A story so far: its outlets and languages, and its largest figure of each unit."""

    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    figures: dict[str, float]


def told(session: Session, keys: Iterable[Key]) -> dict[Key, Told]:
    keys = list(keys)
    if not keys:
        return {}
    # One equality per story: each is a probe of the primary key, which planners without
    # statistics (a young table) take, where they scanned the table for an IN list.
    stories = sorted({story for story, _ in keys})
    rows = session.scalars(
        select(StoryMessageRow).where(or_(*(StoryMessageRow.story_id == s for s in stories)))
    ).all()
    wanted = set(keys)
    return {
        (r.story_id, r.channel): Told(
            r.status,
            r.delivery_id,
            r.severity,
            tuple(r.rules),
            dict(r.figures),
            r.outlets,
            r.languages,
            r.followup_at,
        )
        for r in rows
        if (r.story_id, r.channel) in wanted
    }


# PostgreSQL without statistics scanned the whole articles table for a batch's stories;
# a LATERAL probe of the story index per story is planned on its own (the LIMIT keeps it
# from being flattened into a join; no story has 10,000 reports).
_SPREAD_POSTGRESQL = text(
    """SELECT a.story_id, feeds.name, a.language, a.facts
FROM unnest(CAST(:stories AS integer[])) AS s(story)
CROSS JOIN LATERAL (
    SELECT articles.id, articles.story_id, articles.feed_id, articles.language, articles.facts
    FROM articles WHERE articles.story_id = s.story LIMIT 10000
) AS a
JOIN feeds ON feeds.id = a.feed_id
ORDER BY a.id"""
).columns(ArticleRow.story_id, FeedRow.name, ArticleRow.language, ArticleRow.facts)


def spread(session: Session, stories: Iterable[int]) -> dict[int, Spread]:
    """Outlets, languages and figures of each story's articles."""
    stories = set(stories)
    if not stories:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_SPREAD_POSTGRESQL, {"stories": sorted(stories)})
    else:
        rows = session.execute(
            select(ArticleRow.story_id, FeedRow.name, ArticleRow.language, ArticleRow.facts)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .where(ArticleRow.story_id.in_(stories))
            .order_by(ArticleRow.id)
        )
    outlets: dict[int, dict[str, None]] = {}
    languages: dict[int, dict[str, None]] = {}
    figures: dict[int, dict[str, float]] = {}
    for story, outlet, language, raw in rows:
        outlets.setdefault(story, {})[outlet] = None
        if language:
            languages.setdefault(story, {})[language] = None
        largest = figures.setdefault(story, {})
        facts = facts_from_json(raw) if raw else None
        for figure in facts.figures if facts else ():
            largest[figure.unit] = max(largest.get(figure.unit, 0), figure.value)
    return {
        s: Spread(tuple(outlets.get(s, ())), tuple(languages.get(s, ())), figures.get(s, {}))
        for s in stories
    }


def reserve_first(session: Session, key: Key, delivery_id: int, status: str, severity: int) -> bool:
    """Take the channel's first message about the story (``status`` sending or digest) for
    this delivery: True if it is ours (new, waiting for the digest, or ours already)."""
    row = session.get(StoryMessageRow, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    StoryMessageRow(
                        story_id=key[0],
                        channel=key[1],
                        status=status,
                        delivery_id=delivery_id,
                        severity=severity,
                        rules=[],
                        figures={},
                        outlets=0,
                        languages=0,
                        followups=0,
                    )
                )
                session.flush()
        except IntegrityError:
            return False
        return True
    if row.delivery_id == delivery_id:
        return True
    if row.status in {"digest", "digested"} and status == "sending":
        moved = session.execute(
            update(StoryMessageRow)
            .where(
                StoryMessageRow.story_id == key[0],
                StoryMessageRow.channel == key[1],
                StoryMessageRow.status.in_(("digest", "digested")),
            )
            .values(status="sending", delivery_id=delivery_id)
        )
        return bool(getattr(moved, "rowcount", 0))
    return False


def reserve_followup(session: Session, key: Key, now: datetime, every: float, urgent: bool) -> bool:
    """Take a follow-up slot: none in the last ``every`` seconds, unless ``urgent``."""
    query = update(StoryMessageRow).where(
        StoryMessageRow.story_id == key[0],
        StoryMessageRow.channel == key[1],
        StoryMessageRow.status == "sent",
    )
    if not urgent:
        query = query.where(
            (StoryMessageRow.followup_at.is_(None))
            | (StoryMessageRow.followup_at <= now - timedelta(seconds=every))
        )
    moved = session.execute(query.values(followup_at=now, followups=StoryMessageRow.followups + 1))
    return bool(getattr(moved, "rowcount", 0))


def record_told(
    session: Session,
    key: Key,
    severity: int,
    rules: Sequence[str],
    now_spread: Spread,
    sent_at: datetime,
) -> None:
    """What the channel now knows of the story, after a message was accepted."""
    row = session.get_one(StoryMessageRow, key)
    row.status = "sent"
    row.severity = max(row.severity, severity)
    row.rules = sorted(set(row.rules) | set(rules))
    row.figures = dict(now_spread.figures)
    row.outlets = len(now_spread.outlets)
    row.languages = len(now_spread.languages)
    row.sent_at = row.sent_at or sent_at


def release(session: Session, key: Key, delivery_id: int) -> None:
    """A first message that failed for good: the next report of the story may try."""
    row = session.get(StoryMessageRow, key)
    if row is not None and row.delivery_id == delivery_id and row.status == "sending":
        session.delete(row)


def sent_severities(session: Session, channel: str, since: datetime) -> list[int]:
    """The severity of each message a channel received one by one since ``since``."""
    return list(
        session.scalars(
            select(HitRow.severity)
            .join(DeliveryRow, DeliveryRow.hit_id == HitRow.id)
            .where(
                DeliveryRow.channel == channel,
                DeliveryRow.status == "sent",
                DeliveryRow.digest_id.is_(None),
                DeliveryRow.sent_at >= since,
            )
        )
    )


def waiting_stories(session: Session, channel: str) -> int:
    """Stories waiting for a channel's digest."""
    return (
        session.scalar(
            select(func.count())
            .select_from(StoryMessageRow)
            .where(StoryMessageRow.channel == channel, StoryMessageRow.status == "digest")
        )
        or 0
    )

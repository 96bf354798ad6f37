"""Tables. Unique keys make a re-run idempotent: an item is stored once, a hit alerted
once per channel. Feed state (ETag, next check, error count) lives on the feed row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class FeedRow(Base):
    __tablename__ = "feeds"
    __table_args__ = (Index("ix_feeds_due", "active", "next_check_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    interval_seconds: Mapped[float] = mapped_column(Float)
    full_text: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    # Where the feed is fetched now: a permanent redirect moves it away from `url`.
    fetch_url: Mapped[str | None] = mapped_column(Text)
    disabled_reason: Mapped[str | None] = mapped_column(Text)  # e.g. HTTP 410 Gone
    last_warning: Mapped[str | None] = mapped_column(Text)  # read despite a malformed body
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    down_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    adaptive: Mapped[bool] = mapped_column(Boolean, default=True)
    min_interval: Mapped[float | None] = mapped_column(Float)
    max_interval: Mapped[float | None] = mapped_column(Float)
    poll_interval: Mapped[float | None] = mapped_column(Float)  # the adaptive one, now
    host: Mapped[str | None] = mapped_column(String(255))  # of fetch URL: per-host limits
    # A worker polling the feed holds it until lease_until; a dead worker's lease expires.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which source reads it, that kind's settings, and what it keeps between polls (JSON,
    # so a new kind of source needs no migration).
    kind: Mapped[str] = mapped_column(String(20), default="rss", server_default="rss")
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the feed offered that was not kept as an article of its own, or was guessed,
    # counted since it was added (``monitor.entities.TALLIES``; migration 0011).
    tally_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tally_merged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tally_republished: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tally_revised: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tally_charset_guessed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tally_links_unresolved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(Text)  # the item's identity within its feed
    url: Mapped[str] = mapped_column(Text)  # where the link finally led
    canonical_url: Mapped[str] = mapped_column(Text)
    # The item's key (feed and guid, hashed; before migration 0011 the canonical URL's).
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The canonical URL's hash, NULL without a web link: the same article from another feed.
    link_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    entry_hash: Mapped[str | None] = mapped_column(String(64))  # FeedEntry.fingerprint
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest revision
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_source: Mapped[str] = mapped_column(String(10))
    text_note: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The story this article reports: the id of the story's first article (itself if first).
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash, for grouping
    # What the language layer read: figures, places, countries (``monitor.store.facts``).
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    places_index: Mapped[str | None] = mapped_column(Text)  # "|by|brest|": search filters


class HitRow(Base):
    __tablename__ = "hits"
    __table_args__ = (UniqueConstraint("article_id", "rule_id", name="uq_hits_article_rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(100), index=True)
    rule_name: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # >1: update


class RevisionRow(Base):
    """An article's earlier text: a revision replaced by a later one from its feed."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision", name="uq_article_revisions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SightingRow(Base):
    """An article seen again under another feed's item (or its own feed's new guid): that
    item is this article, matched and alerted once."""

    __tablename__ = "article_sightings"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_article_sightings_feed_guid"),
        Index("ix_article_sightings_article", "article_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(20))  # merged | republished
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoryKeyRow(Base):
    """LSH band keys of recent articles: two articles sharing a key are story candidates."""

    __tablename__ = "story_keys"
    # article_id is in the index so that a look-up never reads the table (migration 0008).
    __table_args__ = (Index("ix_story_keys_lookup", "key", "created_at", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoryLinkRow(Base):
    """An alerted article's reading for linking across wording and language (embedding,
    anchors) and why it joined its story: the story page shows it (migration 0014)."""

    __tablename__ = "story_links"
    __table_args__ = (Index("ix_story_links_recent", "created_at"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(Integer, index=True)
    language: Mapped[str | None] = mapped_column(String(20))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    anchors: Mapped[list[str]] = mapped_column(JSON)
    linked_to: Mapped[int | None] = mapped_column(Integer)  # the article it was found close to
    why: Mapped[str] = mapped_column(Text)  # "first report", "same wording", "cosine ..."
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoryMessageRow(Base):
    """What a channel was told of a story: the first message (or that the story waits for
    the digest) and the follow-ups since, so that copies fold and only news is sent
    (migration 0014)."""

    __tablename__ = "story_messages"

    story_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | digest
    delivery_id: Mapped[int | None] = mapped_column(Integer)  # the one carrying the message
    severity: Mapped[int] = mapped_column(Integer)  # the highest told
    rules: Mapped[list[str]] = mapped_column(JSON)  # rule ids told
    figures: Mapped[dict[str, float]] = mapped_column(JSON)  # unit -> largest value told
    outlets: Mapped[int] = mapped_column(Integer)
    languages: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followups: Mapped[int] = mapped_column(Integer, default=0)


class DigestRow(Base):
    """One scheduled digest of one channel; unique, so it is sent once across replicas."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("channel", "scheduled_for", name="uq_digests_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="sending")  # sending|sent|failed
    items: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRunRow(Base):
    """A periodic job's run for one scheduled slot; unique, so it runs once across replicas."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_job_runs_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    result: Mapped[str | None] = mapped_column(Text)


class ChannelNoticeRow(Base):
    """Operational notices a channel got (e.g. "rate limited"), one per kind and window."""

    __tablename__ = "channel_notices"
    __table_args__ = (UniqueConstraint("channel", "kind", "window", name="uq_channel_notice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    window: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("hit_id", "channel", name="uq_deliveries_hit_channel"),
        Index("ix_deliveries_status_due", "status", "next_attempt_at"),
        # Finding a story's first delivery per rule and channel reads this index alone
        # (migration 0009): through articles and hits, planners without statistics started
        # from the status index and read every delivery ever told, for every batch.
        Index("ix_deliveries_story", "story_id", "rule_id", "channel", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(100))
    # pending: due at next_attempt_at (quiet hours hold it there); sent; failed (gave up);
    # digest: waits for the channel's next digest; folded: another outlet's copy of a story
    # already alerted, told as "also reported by" in the digest or a follow-up.
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # why it went to the digest, if it did
    # The hit's article's story and the hit's rule, copied at store time (neither changes).
    story_id: Mapped[int | None] = mapped_column(Integer)
    rule_id: Mapped[str | None] = mapped_column(String(100))
    # Which of the channel's URLs already have it (a hash of each URL): a retry goes only
    # to the others, so a working target never gets the alert twice.
    targets_done: Mapped[list[str] | None] = mapped_column(JSON)


class NoticeRow(Base):
    """An operational message (feed down, feed recovered) waiting for its channel: notices
    go through the outbox like alerts, sent after the transaction that caused them."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Notices of one kind (feed down, delivery given up) due together go out as one message.
    kind: Mapped[str | None] = mapped_column(String(30))


class ConditionRow(Base):
    """Something wrong now (a channel failing, a rule file not loading): one row per kind
    and subject, so its notice and its recovery notice each go out once across replicas."""

    __tablename__ = "admin_conditions"
    __table_args__ = (UniqueConstraint("kind", "subject", name="uq_admin_condition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    detail: Mapped[str | None] = mapped_column(Text)


class SignedOutRow(Base):
    """A dashboard session signed out before its cookie expired: refused on every replica."""

    __tablename__ = "signed_out_sessions"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the cookie's expiry


class SubscriptionRow(Base):
    """A feed's WebSub subscription at its hub: what we asked (``mode``), how far it got
    (``state``), the callback's key and the secret that signs what the hub pushes, and the
    lease (migration 0015)."""

    __tablename__ = "websub_subscriptions"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    hub: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the callback's last segment
    secret: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(20))  # subscribe | unsubscribe
    state: Mapped[str] = mapped_column(String(20))  # requested | active | denied | failed
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the pass next looks at it: renewal, a retry, or a verification overdue.
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed requests in a row
    last_error: Mapped[str | None] = mapped_column(Text)
    pushes: Mapped[int] = mapped_column(Integer, default=0)  # notifications accepted


class PushRow(Base):
    """A body a hub pushed, signed with the feed's secret, waiting for the feed's next poll
    to read it in place of a fetch (migration 0015)."""

    __tablename__ = "websub_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""One poll of one feed, stage by stage: fetch -> parse -> extract -> match -> store.

This module owns the order of the stages and what a failure in each means:
- the feed cannot be fetched or parsed: the poll fails, the error is kept on the feed row,
  nothing else changes, other feeds go on;
- an article page cannot be fetched, is refused by the SSRF guard, or yields no text: the
  article is matched on the feed's own text and the reason is stored with it;
- alerts (notify) are side effects of stored hits only, sent afterwards by ``deliver_due``.
The feed's ETag and Last-Modified are saved only after its new articles are stored, so a
crash mid-poll means the next poll sees the same items again (and the unique keys skip them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Config
from monitor.entities import Article, Document, FeedEntry, FeedRef, Hit
from monitor.errors import FetchError, StageError
from monitor.extract import extract_page
from monitor.feeds.fetch import FetchResult, fetch
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.parse import parse_feed
from monitor.feeds.urls import canonical_url
from monitor.notify.deliver import DeliveryReport, Sender, deliver_due
from monitor.rules import Matcher
from monitor.store import repository as repo

log = logging.getLogger(__name__)
PAGE_CONCURRENCY = 4


@dataclass
class Services:
    """What a poll needs, built once at start-up and passed down."""

    config: Config
    sessions: sessionmaker[Session]
    client: httpx.AsyncClient
    guard: LinkGuard
    matcher: Matcher
    sender: Sender
    route: Callable[[Hit], Iterable[str]] = lambda hit: hit.channels


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: int | None = None
    items: int = 0
    new: int = 0
    hits: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass
class CycleReport:
    polls: list[PollReport] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    @property
    def failed(self) -> list[PollReport]:
        return [p for p in self.polls if p.error]


async def poll_feed(svc: Services, feed: FeedRef) -> PollReport:
    started = time.monotonic()
    try:
        report = await _poll(svc, feed)
    except StageError as exc:
        status = getattr(exc, "status", None)
        with svc.sessions.begin() as session:
            repo.record_poll(session, feed.id, status=status, error=str(exc))
        report = PollReport(feed.name, status=status, error=str(exc))
    report = PollReport(**{**report.__dict__, "seconds": round(time.monotonic() - started, 3)})
    _log_poll(report)
    return report


async def _poll(svc: Services, feed: FeedRef) -> PollReport:
    settings = svc.config.fetch
    result = await fetch(
        svc.client,
        feed.url,
        max_bytes=settings.max_feed_bytes,
        deadline=settings.timeout,
        etag=feed.etag,
        last_modified=feed.last_modified,
    )
    if result.not_modified:
        with svc.sessions.begin() as session:
            repo.record_poll(session, feed.id, status=304)
        return PollReport(feed.name, status=304)
    parsed = parse_feed(result.content, result.url)
    with svc.sessions() as session:
        fresh_guids = repo.unknown_entries(
            session, feed.id, ((e.guid, e.link or e.guid) for e in parsed.entries)
        )
    fresh = [e for e in parsed.entries if e.guid in fresh_guids]
    articles = await _build_all(svc, feed, fresh)
    new, hits = _store(svc, articles)
    _save_feed_state(svc, feed, result, len(parsed.entries))
    if parsed.problem:
        log.info("feed %s: read despite: %s", feed.name, parsed.problem)
    return PollReport(
        feed.name, status=result.status, items=len(parsed.entries), new=new, hits=hits
    )


async def _build_all(svc: Services, feed: FeedRef, entries: Sequence[FeedEntry]) -> list[Article]:
    limit = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def one(entry: FeedEntry) -> Article:
        async with limit:
            return await build_article(svc, feed, entry)

    return list(await asyncio.gather(*(one(e) for e in entries)))


async def build_article(svc: Services, feed: FeedRef, entry: FeedEntry) -> Article:
    """Page text when it can be had, else the feed's own text with the reason recorded."""
    url = entry.link or entry.guid
    title, text, source, note = entry.title, entry.summary, "feed", None
    if feed.full_text and entry.link:
        try:
            page = await fetch(
                svc.client,
                entry.link,
                max_bytes=svc.config.fetch.max_page_bytes,
                deadline=svc.config.fetch.timeout,
                check=lambda hop: svc.guard.check(hop, host_port(feed.url)),
            )
            extracted = await asyncio.to_thread(extract_page, page.content, page.url)
        except FetchError as exc:
            note = str(exc)
        else:
            if extracted is None:
                note = "extraction empty"
            else:
                text, source = extracted.text, "page"
                title = title or extracted.title
    if note:
        log.info("article %s: using feed text (%s)", url, note)
    document = Document(
        title=title, text=text, language=feed.language, url=url, feed=feed.name, tags=feed.tags
    )
    return Article(
        feed_id=feed.id,
        guid=entry.guid,
        url=url,
        canonical_url=canonical_url(url),
        document=document,
        text_source=source,
        text_note=note,
        published=entry.published,
    )


def _store(svc: Services, articles: Sequence[Article]) -> tuple[int, int]:
    new = hits = 0
    for article in articles:
        found = svc.matcher.match(article.document)
        with svc.sessions.begin() as session:
            if repo.store_article(session, article, found, svc.route) is not None:
                new += 1
                hits += len(found)
    return new, hits


def _save_feed_state(svc: Services, feed: FeedRef, result: FetchResult, items: int) -> None:
    with svc.sessions.begin() as session:
        repo.record_poll(
            session,
            feed.id,
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            items=items,
        )


def _log_poll(report: PollReport) -> None:
    if report.error:
        log.warning("poll %s failed after %.2fs: %s", report.feed, report.seconds, report.error)
    else:
        log.info(
            "poll %s: status=%s items=%d new=%d hits=%d %.2fs",
            report.feed,
            report.status,
            report.items,
            report.new,
            report.hits,
            report.seconds,
        )


async def poll_safely(svc: Services, feed: FeedRef) -> PollReport:
    """poll_feed, but nothing a feed does can escape into the caller (and stop other feeds)."""
    try:
        return await poll_feed(svc, feed)
    except Exception as exc:
        log.exception("poll %s crashed", feed.name)
        return PollReport(feed.name, error=f"internal error: {type(exc).__name__}: {exc}")


async def run_cycle(svc: Services, feeds: Sequence[FeedRef]) -> CycleReport:
    """Poll every feed once (bounded concurrency), then send every due alert."""
    limit = asyncio.Semaphore(svc.config.fetch.concurrency)

    async def one(feed: FeedRef) -> PollReport:
        async with limit:
            return await poll_safely(svc, feed)

    polls = list(await asyncio.gather(*(one(f) for f in feeds)))
    delivery = await deliver_due(svc.sessions, svc.sender)
    return CycleReport(polls=polls, delivery=delivery)

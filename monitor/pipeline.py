"""One poll of one feed, stage by stage: fetch -> parse -> extract -> match -> store.

This module owns the order of the stages and what a failure in each means:
- the feed cannot be fetched or parsed: the poll fails, the error is kept on the feed row,
  the feed backs off, other feeds go on; 410 Gone disables the feed;
- an article page cannot be fetched, is refused by the SSRF guard, or yields no text in
  time: the article is matched on the feed's own text and the reason is stored with it;
- alerts (notify) are side effects of stored hits only, sent afterwards by ``deliver_due``
  (in a cycle, every few seconds while the feeds are polled, and at the end).
The feed's validators (ETag, Last-Modified, body hash) are saved only after its new
articles are stored, so a crash mid-poll means the next poll sees the same items again
(and the unique keys skip them).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TypeVar, TypeVarTuple

import httpx
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.batch import Batcher
from monitor.config import Config
from monitor.entities import Article, Document, FeedEntry, FeedRef, Hit
from monitor.errors import ExtractError, FetchError, StageError
from monitor.extract import ExtractedPage
from monitor.feeds import schedule
from monitor.feeds.fetch import FetchResult, fetch
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.hosts import HostLimiter
from monitor.feeds.parse import ParsedFeed, parse_feed
from monitor.feeds.urls import canonical_url
from monitor.notify.deliver import DeliveryReport, Sender, deliver_due
from monitor.notify.stories import signature
from monitor.outcomes import Outcome, write_outcomes
from monitor.rules import Matcher
from monitor.store import repository as repo
from monitor.storing import STORE_GROUP_LIMIT, Stored, Storing

log = logging.getLogger(__name__)
T = TypeVar("T")
Ts = TypeVarTuple("Ts")
PAGE_CONCURRENCY = 4
CYCLE_DELIVERY_INTERVAL = 2.0  # seconds between outbox drains during `monitor run --once`
Extract = Callable[[bytes, str | None], Awaitable[ExtractedPage | None]]


@dataclass
class Services:
    """What a poll needs, built once at start-up and passed down."""

    config: Config
    sessions: sessionmaker[Session]
    feed_client: httpx.AsyncClient
    page_client: httpx.AsyncClient
    limiter: HostLimiter
    guard: LinkGuard
    matcher: Matcher
    sender: Sender
    extract: Extract
    route: Callable[[Hit], Iterable[str]] = lambda hit: hit.channels
    # Database work (and the matching before a store, and feed-down notices) runs on these
    # threads, off the event loop: a commit waits on the disk, and fetches and extraction
    # hand-offs must not wait for it. One for SQLite (one writer at a time), a few for
    # PostgreSQL.
    db_threads: int = 1
    db_thread: Executor = field(init=False)
    # Poll outcomes, and polls' new articles, of feeds that finish together are written in
    # one transaction. One group of polls is stored at a time on every database: a group
    # costs six statements whatever its size, and on PostgreSQL one group per database
    # thread made groups of about one poll (a 1,000-feed cold cycle took 1.5% longer).
    outcomes: Batcher[Outcome, BaseException | None] = field(init=False)
    stores: Batcher[Sequence[Article], Stored] = field(init=False)

    def __post_init__(self) -> None:
        self.db_thread = ThreadPoolExecutor(self.db_threads, "db")
        self.outcomes = Batcher(self._write_outcomes)
        self.stores = Batcher(self._store_polls, STORE_GROUP_LIMIT)

    async def _store_polls(self, batch: list[Sequence[Article]]) -> list[Stored]:
        stories = self.sender.settings.stories
        window = (stories.window, stories.similarity)
        return await _in_db(
            self, Storing(self.sessions, self.matcher, self.route, window).polls, batch
        )

    async def _write_outcomes(self, batch: list[Outcome]) -> list[BaseException | None]:
        down_after = self.config.feed_down_after
        write = functools.partial(write_outcomes, self.sessions, self.sender, down_after)
        return await _in_db(self, write, batch)


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: int | None = None
    items: int = 0
    new: int = 0
    hits: int = 0
    skipped: int = 0
    error: str | None = None
    note: str | None = None  # not modified, unchanged body, moved, disabled
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
        report = await _failed(svc, feed, exc)
    report = replace(report, seconds=round(time.monotonic() - started, 3))
    _log_poll(feed, report)
    _count(report)
    return report


def _count(report: PollReport) -> None:
    quiet = {"not modified": "not_modified", "unchanged": "unchanged"}
    outcome = "error" if report.error else quiet.get(report.note or "", "ok")
    metrics.POLLS.labels(outcome=outcome).inc()
    metrics.ITEMS.inc(report.items)
    metrics.NEW_ARTICLES.inc(report.new)


async def _poll(svc: Services, feed: FeedRef) -> PollReport:
    settings = svc.config.fetch
    started = time.monotonic()
    result = await fetch(
        svc.feed_client,
        feed.address,
        max_bytes=settings.max_feed_bytes,
        deadline=settings.timeout,
        etag=feed.etag,
        last_modified=feed.last_modified,
        limiter=svc.limiter,
    )
    metrics.FETCH_SECONDS.observe(time.monotonic() - started)
    moved = _moved(feed, result)
    if result.not_modified:
        await _record(svc, feed, _outcome(svc, feed, result, None, moved))
        return PollReport(feed.name, status=304, note="not modified")
    digest = hashlib.sha256(result.content).hexdigest()
    if digest == feed.content_hash:  # servers that ignore conditional requests
        await _record(svc, feed, _outcome(svc, feed, result, None, moved))
        return PollReport(feed.name, status=result.status, note="unchanged")
    parsed = parse_feed(result.content, result.url)
    fresh = await _in_db(svc, _fresh, svc, feed, parsed)
    new, hits = await _store(svc, await _build_all(svc, feed, fresh))
    await _record(svc, feed, _outcome(svc, feed, result, parsed, moved, digest))
    note = f"read despite: {parsed.problem}" if parsed.problem else None
    return PollReport(
        feed.name,
        status=result.status,
        items=len(parsed.entries),
        new=new,
        hits=hits,
        skipped=parsed.skipped,
        note=note,
    )


async def _in_db(svc: Services, work: Callable[[*Ts], T], *args: *Ts) -> T:
    """``work(*args)`` on the database thread. A poll cancelled meanwhile does not stop it,
    so a transaction under way is finished, never left half-done."""
    return await asyncio.get_running_loop().run_in_executor(svc.db_thread, work, *args)


def _fresh(svc: Services, feed: FeedRef, parsed: ParsedFeed) -> list[FeedEntry]:
    """The feed's entries not stored yet (by guid for this feed, or by URL)."""
    with svc.sessions() as session:
        fresh_guids = repo.unknown_entries(
            session, feed.id, ((e.guid, e.link or e.guid) for e in parsed.entries)
        )
    return [e for e in parsed.entries if e.guid in fresh_guids]


def _moved(feed: FeedRef, result: FetchResult) -> str | None:
    if result.permanent_url and result.permanent_url != feed.address:
        log.warning(
            "feed %s moved permanently: %s -> %s", feed.name, feed.address, result.permanent_url
        )
        return result.permanent_url
    return None


def _outcome(
    svc: Services,
    feed: FeedRef,
    result: FetchResult,
    parsed: ParsedFeed | None,
    moved: str | None,
    digest: str | None = None,
) -> repo.PollOutcome:
    published = [e.published for e in parsed.entries if e.published] if parsed else []
    ceiling = svc.config.fetch.backoff_max
    next_in = schedule.after_success(feed, published, result.max_age, ceiling)
    return repo.PollOutcome(
        status=result.status,
        next_in=next_in,
        etag=result.etag,
        last_modified=result.last_modified,
        items=len(parsed.entries) if parsed else 0,
        content_hash=digest,
        warning=parsed.problem if parsed else None,
        moved_to=moved,
        poll_interval=schedule.adaptive_interval(feed, published) if parsed else None,
    )


async def _failed(svc: Services, feed: FeedRef, exc: StageError) -> PollReport:
    status = getattr(exc, "status", None)
    if status == 410:
        log.error("feed %s is gone (HTTP 410): disabled until its URL changes", feed.name)
        outcome = repo.PollOutcome(status=410, next_in=None, error=str(exc), gone=True)
        await _record(svc, feed, outcome)
        return PollReport(feed.name, status=410, error=str(exc), note="disabled")
    next_in = schedule.after_failure(
        feed, feed.error_count + 1, getattr(exc, "retry_after", None), svc.config.fetch.backoff_max
    )
    await _record(svc, feed, repo.PollOutcome(status=status, next_in=next_in, error=str(exc)))
    return PollReport(feed.name, status=status, error=str(exc))


async def _record(svc: Services, feed: FeedRef, outcome: repo.PollOutcome) -> None:
    """Keep the outcome on the feed row, with those of polls finishing meanwhile."""
    error = await svc.outcomes.submit((feed, replace(outcome, started=feed.claimed_at)))
    if error is not None:
        raise error


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
                svc.page_client,
                entry.link,
                max_bytes=svc.config.fetch.max_page_bytes,
                deadline=svc.config.fetch.timeout,
                limiter=svc.limiter,
                check=lambda hop: svc.guard.check(hop, host_port(feed.address)),
            )
            extracted = await svc.extract(page.content, page.url)
        except (FetchError, ExtractError) as exc:
            note = str(exc)
        else:
            if extracted is None:
                note = "extraction empty"
            else:
                text, source = extracted.text, "page"
                title = title or extracted.title
    if note:
        metrics.EXTRACTION_FAILURES.inc()
        log.info("article %s: using feed text (%s)", url, note)
    title, text = storable(title), storable(text)
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
        signature=signature(title, text),
    )


def storable(text: str) -> str:
    """Text every database takes. A feed's ``&#0;`` or ``&#55296;`` decodes to NUL or a lone
    surrogate; PostgreSQL refuses NUL and no driver encodes a surrogate, so either would fail
    the feed's every poll."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


async def _store(svc: Services, articles: Sequence[Article]) -> tuple[int, int]:
    """(new, hits) of a poll's articles, matched and stored with other polls' (``storing``);
    a database error of this poll's fails it."""
    if not articles:
        return 0, 0
    stored = await svc.stores.submit(articles)
    if isinstance(stored, Exception):
        raise stored
    return stored


def _log_poll(feed: FeedRef, report: PollReport) -> None:
    fields = {
        "feed": report.feed,
        "status": report.status,
        "items": report.items,
        "new": report.new,
        "hits": report.hits,
        "skipped": report.skipped,
        "duration": report.seconds,
        "error": report.error,
        "note": report.note,
    }
    if report.error:
        failed = (report.feed, report.seconds, report.error)
        log.warning("poll %s failed after %.2fs: %s", *failed, extra={"poll": fields})
        return
    note = f" ({report.note})" if report.note else ""
    log.info(
        "poll %s: status=%s items=%d new=%d hits=%d skipped=%d %.2fs%s",
        *(report.feed, report.status, report.items, report.new, report.hits, report.skipped),
        *(report.seconds, note),
        extra={"poll": fields},
    )


async def poll_safely(svc: Services, feed: FeedRef) -> PollReport:
    """poll_feed, but nothing a feed does can escape into the caller (and stop other feeds)."""
    try:
        return await poll_feed(svc, feed)
    except Exception as exc:
        log.exception("poll %s crashed", feed.name)
        return PollReport(feed.name, error=f"internal error: {type(exc).__name__}: {exc}")


async def run_cycle(svc: Services, feeds: Sequence[FeedRef]) -> CycleReport:
    """Poll every feed once (bounded concurrency), sending due alerts meanwhile and every
    one still due at the end."""
    limit = asyncio.Semaphore(svc.config.fetch.concurrency)

    async def one(feed: FeedRef) -> PollReport:
        async with limit:
            return await poll_safely(svc, feed)

    polled = asyncio.Event()
    sending = asyncio.create_task(_deliver_until(svc, polled))
    try:
        polls = list(await asyncio.gather(*(one(f) for f in feeds)))
    except BaseException:
        sending.cancel()
        raise
    polled.set()
    return CycleReport(polls=polls, delivery=await sending)


async def _deliver_until(svc: Services, polled: asyncio.Event) -> DeliveryReport:
    """Drain the outbox every ``CYCLE_DELIVERY_INTERVAL`` seconds until the polls are done,
    then once more. Not only at the end: on a long cold cycle the first alerts reach the
    desk within seconds, and the routing of thousands of alerts (folded into stories,
    digested) is not left to run alone on one core after the extraction is over."""
    report = DeliveryReport()
    while True:
        last = polled.is_set()
        report.add(await deliver_due(svc.sessions, svc.sender))
        if last:
            return report
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(polled.wait(), CYCLE_DELIVERY_INTERVAL)

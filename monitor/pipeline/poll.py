"""One poll of one feed, in the order of the system: source -> new entries -> per-article
stages -> store -> feed state. ``poll_feed`` owns that order and what a failure means:

- the source cannot be fetched or read: the poll fails, the error is kept on the feed row,
  the feed backs off, other feeds go on; 410 Gone disables the feed;
- an article's page fails: the stages record why and the feed's text is used (``stages``);
- the store refuses a poll's articles: the poll fails and its validators are not saved, so
  the next poll sees the same items again (the unique keys skip what was stored).
Alerts are side effects of stored hits only, sent afterwards from the outbox (notify).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.entities import FeedRef
from monitor.errors import StageError
from monitor.feeds import schedule
from monitor.pipeline.context import Services, gather_limited
from monitor.pipeline.stages import STAGES, Draft, Stage, draft
from monitor.pipeline.storing import PollStored
from monitor.sources import SourcePoll
from monitor.store import repository as repo

log = logging.getLogger(__name__)
PAGE_CONCURRENCY = 4  # articles of one poll in the loop stages at once


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: int | None = None
    items: int = 0
    new: int = 0
    hits: int = 0
    skipped: int = 0
    error: str | None = None
    note: str | None = None  # not modified, unchanged, read despite..., disabled
    seconds: float = 0.0
    tallies: Mapping[str, int] = field(default_factory=dict)  # entities.TALLIES, this poll
    pushed: bool = False  # read what its WebSub hub pushed (alerts go without settling)


async def poll_feed(svc: Services, feed: FeedRef) -> PollReport:
    """The walk of one poll, stage by stage."""
    started = time.monotonic()
    try:
        polled = await svc.sources[feed.kind].poll(feed, svc.net)
        sorted_ = await svc.in_db(triage, svc.sessions, feed, polled)
        drafts = await run_stages(svc, STAGES, drafts_of(feed, sorted_))
        stored = await store(svc, drafts)
        unresolved = {"links_unresolved": sum(d.unresolved for d in drafts)}
        tallies = _added(polled.tallies, sorted_.tallies(), stored.tallies, unresolved)
        await record(svc, feed, outcome(svc, feed, polled, tallies))
        report = PollReport(
            feed.name,
            status=polled.status,
            items=len(polled.entries),
            new=stored.new,
            hits=stored.hits,
            skipped=polled.skipped,
            note=f"read despite: {polled.problem}" if polled.problem else polled.note,
            tallies=tallies,
            pushed=bool(feed.pushed),
        )
    except StageError as exc:
        report = await failed(svc, feed, exc)
    report = replace(report, seconds=round(time.monotonic() - started, 3))
    _log_poll(report)
    _count(report)
    return report


def triage(sessions: sessionmaker[Session], feed: FeedRef, polled: SourcePoll) -> repo.Triage:
    """The entries new to the feed, those that revise a stored article, and those that are
    an article already stored (recorded where they were seen: ``repo.triage``)."""
    if not polled.changed or not polled.entries:
        return repo.Triage()
    with sessions.begin() as session:
        return repo.triage(session, feed.id, polled.entries)


def drafts_of(feed: FeedRef, sorted_: repo.Triage) -> list[Draft]:
    revised = [draft(feed, entry, known) for entry, known in sorted_.revised]
    return [draft(feed, entry) for entry in sorted_.new] + revised


def _added(*tallies: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in tallies:
        for kind, n in counts.items():
            if n:
                total[kind] = total.get(kind, 0) + n
    return total


async def run_stages(svc: Services, stages: Sequence[Stage], drafts: list[Draft]) -> list[Draft]:
    """Each run of consecutive stages that share a place: loop stages article by article
    (``PAGE_CONCURRENCY`` at once), cpu stages for all the articles in one hand-off."""
    for where, run in itertools.groupby(stages, key=lambda stage: stage.where):
        group = tuple(run)
        if not drafts:
            break
        if where == "cpu":
            drafts = await svc.in_cpu(_each, svc, group, drafts)
        else:
            jobs = [functools.partial(_through, svc, group, d) for d in drafts]
            drafts = list(await gather_limited(PAGE_CONCURRENCY, jobs))
    return drafts


async def _through(svc: Services, stages: Sequence[Stage], d: Draft) -> Draft:
    for stage in stages:
        done = stage.run(svc, d)
        d = await done if inspect.isawaitable(done) else done
    return d


def _each(svc: Services, stages: Sequence[Stage], drafts: list[Draft]) -> list[Draft]:
    out = []
    for d in drafts:
        for stage in stages:
            d = stage.run(svc, d)  # type: ignore[assignment]
        out.append(d)
    return out


async def store(svc: Services, drafts: Sequence[Draft]) -> PollStored:
    """What of a poll's articles was stored, with other polls' (``storing``); a database
    error of this poll's fails it."""
    items = [(d.article, list(d.hits)) for d in drafts if d.article is not None]
    if not items:
        return PollStored()
    stored = await svc.stores.submit(items)
    if isinstance(stored, Exception):
        raise stored
    return stored


def outcome(
    svc: Services, feed: FeedRef, polled: SourcePoll, tallies: Mapping[str, int] | None = None
) -> repo.PollOutcome:
    published = [e.published for e in polled.entries if e.published]
    ceiling = svc.config.fetch.backoff_max
    next_in = schedule.after_success(feed, published, polled.max_age, ceiling)
    if feed.subscribed:  # its hub pushes what is new: polling is the safety net
        next_in = max(next_in, svc.config.websub.poll)
    return repo.PollOutcome(
        status=polled.status,
        next_in=next_in,
        etag=polled.etag,
        last_modified=polled.last_modified,
        items=len(polled.entries),
        content_hash=polled.content_hash,
        warning=polled.problem,
        moved_to=polled.moved_to,
        poll_interval=(
            schedule.adaptive_interval(feed, published)
            if polled.changed and not feed.pushed  # a push carries only what is new
            else None
        ),
        state=polled.state or None,
        tallies=tallies,
    )


async def failed(svc: Services, feed: FeedRef, exc: StageError) -> PollReport:
    status = getattr(exc, "status", None)
    if status == 410:
        log.error("feed %s is gone (HTTP 410): disabled until its URL changes", feed.name)
        await record(svc, feed, repo.PollOutcome(410, None, error=str(exc), gone=True))
        return PollReport(feed.name, status=410, error=str(exc), note="disabled")
    next_in = schedule.after_failure(
        feed, feed.error_count + 1, getattr(exc, "retry_after", None), svc.config.fetch.backoff_max
    )
    await record(svc, feed, repo.PollOutcome(status=status, next_in=next_in, error=str(exc)))
    return PollReport(feed.name, status=status, error=str(exc))


async def record(svc: Services, feed: FeedRef, outcome: repo.PollOutcome) -> None:
    """Keep the outcome on the feed row, with those of polls finishing meanwhile. Pushed
    bodies the poll read are dropped whatever it came to: after a failure the feed's own
    fetch, once it is due, finds their items."""
    pushes = tuple(push.id for push in feed.pushed)
    kept = replace(outcome, started=feed.claimed_at, pushes=pushes)
    error = await svc.outcomes.submit((feed, kept))
    if error is not None:
        raise error


async def poll_safely(svc: Services, feed: FeedRef) -> PollReport:
    """poll_feed, but nothing a feed does can escape into the caller (and stop other feeds):
    an unexpected error is kept on the feed row like any failure, which also releases the
    feed's lease at once (a held lease would keep the host's other feeds waiting)."""
    try:
        return await poll_feed(svc, feed)
    except Exception as exc:
        log.exception("poll %s crashed", feed.name)
        error = f"internal error: {type(exc).__name__}: {exc}"[:2000]
        ceiling = svc.config.fetch.backoff_max
        next_in = schedule.after_failure(feed, feed.error_count + 1, None, ceiling)
        try:
            await record(svc, feed, repo.PollOutcome(status=None, next_in=next_in, error=error))
        except Exception:
            log.exception("poll %s: its failure could not be kept either", feed.name)
        return PollReport(feed.name, error=error)


def _count(report: PollReport) -> None:
    quiet = {"not modified": "not_modified", "unchanged": "unchanged"}
    outcome = "error" if report.error else quiet.get(report.note or "", "ok")
    metrics.POLLS.labels(outcome=outcome).inc()
    metrics.ITEMS.inc(report.items)
    metrics.NEW_ARTICLES.inc(report.new)
    for kind, n in report.tallies.items():
        metrics.TALLIED.labels(kind=kind).inc(n)


def _log_poll(report: PollReport) -> None:
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
        "tallies": dict(report.tallies),
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

"""The per-article stages, in the order ``STAGES`` lists them: page, extract, sign, match.

Each stage takes the article so far (a frozen ``Draft``) and returns it with its part
done; a stage that cannot do its part records why and passes the article on, so an
article is never lost to a page that will not load. A new stage is a function and a
line in ``STAGES``: ``"loop"`` stages are coroutines run on the event loop, each article
on its own (for waiting on the network or the extraction workers); ``"cpu"`` stages are
plain functions run for all of a poll's articles in one go on the CPU thread.

What a failure means here:
- the page cannot be fetched, is refused by the SSRF guard, or yields no text in time:
  the article is matched on the feed's own text and the reason is stored (``text_note``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

from monitor import metrics
from monitor.entities import Article, Document, FeedEntry, FeedRef, Hit
from monitor.errors import ExtractError, FetchError
from monitor.feeds.fetch import FetchResult
from monitor.feeds.urls import canonical_url
from monitor.pipeline.context import Services
from monitor.stories import signature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """One new article on its way through the stages."""

    feed: FeedRef
    entry: FeedEntry
    title: str
    text: str
    text_source: str = "feed"  # "page" once the page's text replaced the feed's
    text_note: str | None = None  # why the page text was not used
    page: FetchResult | None = None  # the fetched page, until it is extracted
    article: Article | None = None  # what will be stored, once signed
    hits: tuple[Hit, ...] = ()

    @property
    def url(self) -> str:
        return self.entry.link or self.entry.guid


def draft(feed: FeedRef, entry: FeedEntry) -> Draft:
    return Draft(feed, entry, entry.title, entry.summary)


async def fetch_page(svc: Services, d: Draft) -> Draft:
    if not (d.feed.full_text and d.entry.link):
        return d
    try:
        return replace(d, page=await svc.pages.fetch(d.entry.link, d.feed.address))
    except FetchError as exc:
        return replace(d, text_note=str(exc))


async def extract_text(svc: Services, d: Draft) -> Draft:
    if d.page is not None:
        try:
            extracted = await svc.pages.extract(d.page.content, d.page.url)
        except ExtractError as exc:
            d = replace(d, page=None, text_note=str(exc))
        else:
            if extracted is None:
                d = replace(d, page=None, text_note="extraction empty")
            else:
                title = d.title or extracted.title
                d = replace(d, page=None, title=title, text=extracted.text, text_source="page")
    if d.text_note:
        metrics.EXTRACTION_FAILURES.inc()
        log.info("article %s: using feed text (%s)", d.url, d.text_note)
    return d


def sign(svc: Services, d: Draft) -> Draft:
    """The article as it will be stored: text every database takes, and its signature."""
    title, text = storable(d.title), storable(d.text)
    feed = d.feed
    document = Document(
        title=title, text=text, language=feed.language, url=d.url, feed=feed.name, tags=feed.tags
    )
    article = Article(
        feed_id=feed.id,
        guid=d.entry.guid,
        url=d.url,
        canonical_url=canonical_url(d.url),
        document=document,
        text_source=d.text_source,
        text_note=d.text_note,
        published=d.entry.published,
        signature=signature(title, text),
    )
    return replace(d, title=title, text=text, article=article)


def match(svc: Services, d: Draft) -> Draft:
    assert d.article is not None, "sign comes before match"
    return replace(d, hits=tuple(svc.matcher.match(d.article.document)))


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


Where = Literal["loop", "cpu"]


@dataclass(frozen=True)
class Stage:
    name: str
    where: Where
    run: Callable[[Services, Draft], Awaitable[Draft]] | Callable[[Services, Draft], Draft]


STAGES: tuple[Stage, ...] = (
    Stage("page", "loop", fetch_page),
    Stage("extract", "loop", extract_text),
    Stage("sign", "loop", sign),
    Stage("match", "cpu", match),
)

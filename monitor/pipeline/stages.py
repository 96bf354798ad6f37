"""The per-article stages, in the order ``STAGES`` lists them: page, extract, sign,
language, understand, match, stories.

Each stage takes the article so far (a frozen ``Draft``) and returns it with its part
done; a stage that cannot do its part records why and passes the article on, so an
article is never lost to a page that will not load. A new stage is a function and a
line in ``STAGES``: ``"loop"`` stages are coroutines run on the event loop, each article
on its own (for waiting on the network or the extraction workers); ``"cpu"`` stages are
plain functions run for all of a poll's articles in one go on the CPU thread.

What a failure means here:
- the page cannot be fetched, is refused by the SSRF guard, or yields no text in time:
  the article is matched on the feed's own text and the reason is stored (``text_note``);
- an aggregator's link (Google News) that does not lead to the publisher: the same, and
  the interstitial's text ("Opening...") is never taken for the article's.
The link's redirects are followed: the article is stored and alerted under the final URL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from monitor import metrics
from monitor.entities import Article, Document, FeedEntry, FeedRef, Hit
from monitor.errors import ExtractError, FetchError
from monitor.feeds.fetch import FetchResult
from monitor.feeds.links import is_aggregator
from monitor.feeds.urls import canonical_url
from monitor.pipeline.context import Services
from monitor.store.items import Known
from monitor.stories import signature
from monitor.stories.link import read

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
    known: Known | None = None  # the stored article this item revises
    final_url: str | None = None  # where the link's redirects led
    unresolved: bool = False  # an aggregator's link that never reached the publisher

    @property
    def url(self) -> str:
        return self.final_url or self.entry.link or self.entry.guid


def draft(feed: FeedRef, entry: FeedEntry, known: Known | None = None) -> Draft:
    return Draft(feed, entry, entry.title, entry.summary, known=known)


async def fetch_page(svc: Services, d: Draft) -> Draft:
    """The article's page, and where its link finally led; an aggregator's page that
    never led to the publisher (Google News' interstitial) is not the article."""
    if d.entry.complete:  # a post's own text is the article; its first link, if asked
        return await _linked_page(svc, d, d.entry.page_url) if d.entry.page_url else d
    if not d.entry.link:
        return d
    if d.entry.link_note:  # fetching it only ever gives the aggregator's own page
        return _unresolved(d, "not fetched")
    if not d.feed.full_text:
        return d
    if urlsplit(d.entry.link).fragment:  # a part of a page (a live blog's post): its own
        return d  # text is the feed's, the page's is every part's
    try:
        page = await svc.pages.fetch(d.entry.link, d.feed.address)
    except FetchError as exc:
        return replace(d, text_note=str(exc), unresolved=bool(d.entry.link_note))
    if is_aggregator(page.url):
        return _unresolved(d, f"{urlsplit(page.url).hostname} did not lead to the publisher")
    final = page.url if page.url != d.entry.link else None
    return replace(d, page=page, final_url=final)


async def _linked_page(svc: Services, d: Draft, url: str) -> Draft:
    """The page a post links to, for its text: the article stays the post (its URL)."""
    try:
        page = await svc.pages.fetch(url, d.feed.address)
    except FetchError as exc:
        return replace(d, text_note=str(exc))
    return replace(d, page=page)


def _unresolved(d: Draft, what: str) -> Draft:
    note = "; ".join(n for n in (d.entry.link_note, what) if n)
    return replace(d, text_note=f"{note}; feed text used", unresolved=True)


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
                # a post keeps its own words before the page it links to
                text = f"{d.text}\n\n{extracted.text}" if d.entry.complete else extracted.text
                d = replace(d, page=None, title=title, text=text, text_source="page")
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
        entry_hash=d.entry.fingerprint,
        revises=d.known.article_id if d.known else None,
        revision=d.known.revision + 1 if d.known else 1,
    )
    return replace(d, title=title, text=text, article=article)


def identify_language(svc: Services, d: Draft) -> Draft:
    """The article's own language; the feed's declared one is only a hint."""
    assert d.article is not None, "sign comes before language"
    doc = d.article.document
    found = svc.identifier.identify(doc.title, doc.text, d.feed.language)
    article = replace(d.article, document=replace(doc, language=found))
    return replace(d, article=article)


def understand(svc: Services, d: Draft) -> Draft:
    """Figures and places, read once: rules, alerts, search and pages use them."""
    assert d.article is not None, "sign comes before understand"
    document = svc.understanding.read(d.article.document)
    return replace(d, article=replace(d.article, document=document))


def match(svc: Services, d: Draft) -> Draft:
    assert d.article is not None, "sign comes before match"
    return replace(d, hits=tuple(svc.matcher.match(d.article.document)))


def read_for_stories(svc: Services, d: Draft) -> Draft:
    """An article some rule hit, embedded with its anchors: what links it to reports of
    its story in other words and languages. Others are never embedded (tens of ms each)."""
    assert d.article is not None, "sign comes before stories"
    if not d.hits or svc.embedder is None:
        return d
    reading = read(svc.embedder, d.article.document)
    article = replace(d.article, embedding=reading.vector, anchors=tuple(reading.anchors.as_list()))
    return replace(d, article=article)


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
    Stage("language", "cpu", identify_language),
    Stage("understand", "cpu", understand),
    Stage("match", "cpu", match),
    Stage("stories", "cpu", read_for_stories),
)

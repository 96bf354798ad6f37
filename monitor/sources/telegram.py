"""Public Telegram channels, read from their web preview (``https://t.me/s/<channel>``).

Each post is an entry: its permalink (``data-post``) is its identity and link, its text
(with what it forwards or replies to) is the article's text, its time is its date, and the
links inside it are kept. The first poll pages back (``?before=``) up to ``backfill`` posts
(feeds.yaml ``options``, default 50); later polls read the newest page, and page back only
as far as the newest post seen before. A post's own text is its article: the page stage
fetches nothing, unless ``follow_links: true`` asks for the first link's page (through the
SSRF guard like any article page).

A channel without a web preview, and a channel that does not exist (renamed or deleted),
are errors that say so; a 429 is the fetch's error with its Retry-After, as for any feed.
The page's structure (``.tgme_widget_message``, ``.tgme_widget_message_text``,
``time[datetime]``) is the one RSSHub's Telegram route reads; this parser is our own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import lxml.html

from monitor.entities import FeedEntry, FeedRef
from monitor.errors import ParseError
from monitor.sources.base import Net, SourcePoll, fetch_source

BACKFILL = 50  # posts read back on a channel's first poll
MAX_PAGES = 10  # pages one poll reads at most (20 posts a page)
TITLE_CHARS = 140


@dataclass(frozen=True)
class Post:
    id: int
    permalink: str
    text: str
    published: datetime | None
    links: tuple[str, ...]
    forwarded_from: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Preview:
    """One page of a channel's preview: its posts (oldest first) and how many had no text."""

    posts: tuple[Post, ...]
    media_only: int


def preview_url(url: str) -> str:
    """The web preview of a channel given as ``https://t.me/name`` or ``.../s/name``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path.startswith("/s/"):
        path = "/s/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_preview(content: bytes, url: str) -> Preview:
    """The posts of a preview page; ``ParseError`` naming what the page is instead."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not urlsplit(url).path.startswith("/s/"):
        if b"tgme_page_title" in content:
            raise ParseError(url, f"Telegram channel {name!r} has no public web preview")
        raise ParseError(url, f"no Telegram channel {name!r} (renamed or deleted?)")
    tree = lxml.html.fromstring(content.decode("utf-8", "replace"))  # t.me serves UTF-8
    messages = tree.xpath("//div[contains(@class,'tgme_widget_message') and @data-post]")
    if not messages and not tree.xpath("//*[contains(@class,'tgme_channel_info')]"):
        raise ParseError(url, f"no Telegram channel {name!r} (renamed or deleted?)")
    origin = urlunsplit((*urlsplit(url)[:2], "", "", ""))
    posts, media_only = [], 0
    for message in messages:
        post = _post(message, origin)
        if post is None:
            media_only += 1
        else:
            posts.append(post)
    return Preview(tuple(sorted(posts, key=lambda p: p.id)), media_only)


def _post(message: lxml.html.HtmlElement, origin: str) -> Post | None:
    channel, _, number = message.get("data-post", "").partition("/")
    if not number.isdigit():
        return None
    texts = [
        t
        for t in message.xpath(".//div[contains(@class,'tgme_widget_message_text')]")
        if not t.xpath("ancestor::*[contains(@class,'tgme_widget_message_reply')]")
    ]
    if not texts:
        return None  # a photo or a video without a caption
    text = _text(texts[0])
    reply = message.xpath(".//*[contains(@class,'tgme_widget_message_reply')]")
    forwarded = message.xpath(".//*[contains(@class,'tgme_widget_message_forwarded_from_name')]")
    stamp = message.xpath(".//time[@datetime]/@datetime")
    return Post(
        int(number),
        f"{origin}/{channel}/{number}",
        text,
        _when(stamp[0]) if stamp else None,
        tuple(_links(texts[0])),
        " ".join(forwarded[0].text_content().split()) if forwarded else None,
        _reply_text(reply[0]) if reply else None,
    )


def _text(element: lxml.html.HtmlElement) -> str:
    for br in element.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines = (" ".join(line.split()) for line in element.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _reply_text(reply: lxml.html.HtmlElement) -> str | None:
    found = reply.xpath(".//*[contains(@class,'tgme_widget_message_text')]")
    return " ".join(found[0].text_content().split()) if found else None


def _links(element: lxml.html.HtmlElement) -> Iterable[str]:
    for href in element.xpath(".//a/@href"):
        if href.startswith(("http://", "https://")):
            yield href


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def entry(post: Post, follow_links: bool) -> FeedEntry:
    """A post as a feed entry: its permalink the link and identity, its text complete."""
    context = []
    if post.forwarded_from:
        context.append(f"Forwarded from {post.forwarded_from}.")
    if post.reply_to:
        context.append(f"In reply to: {post.reply_to}")
    links = [f"Links: {' '.join(post.links)}"] if post.links else []
    first_line = post.text.split("\n", 1)[0]
    title = first_line if len(first_line) <= TITLE_CHARS else _cut(first_line)
    return FeedEntry(
        guid=post.permalink,
        link=post.permalink,
        title=title,
        summary="\n".join([*context, post.text, *links]),
        published=post.published,
        complete=True,
        page_url=post.links[0] if follow_links and post.links else None,
    )


def _cut(line: str) -> str:
    return line[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


class TelegramSource:
    kind = "telegram"

    async def poll(self, feed: FeedRef, net: Net) -> SourcePoll:
        url = preview_url(feed.address)
        first = await fetch_source(net, feed, url)
        if first.not_modified:
            return SourcePoll(first.status, changed=False, note="not modified")
        digest = hashlib.sha256(first.content).hexdigest()
        if digest == feed.content_hash:
            return SourcePoll(first.status, changed=False, note="unchanged", content_hash=digest)
        page = parse_preview(first.content, first.url)
        seen = int(feed.state.get("newest", 0))
        wanted = int(feed.options.get("backfill", BACKFILL))
        posts, media_only = list(page.posts), page.media_only
        pages = 1
        while posts and pages < MAX_PAGES and _older_wanted(posts, seen, wanted):
            older = await fetch_source(net, feed, f"{url}?before={posts[0].id}", conditional=False)
            more = [p for p in parse_preview(older.content, older.url).posts if p.id < posts[0].id]
            if not more:
                break
            posts = more + posts
            pages += 1
        if not seen:
            posts = posts[-wanted:]
        follow = bool(feed.options.get("follow_links", False))
        newest = max([seen, *(p.id for p in posts)])
        return SourcePoll(
            first.status,
            entries=tuple(entry(p, follow) for p in reversed(posts) if p.id > seen or not seen),
            skipped=media_only,
            etag=first.etag,
            last_modified=first.last_modified,
            content_hash=digest,
            state={"newest": newest},
        )


def _older_wanted(posts: list[Post], seen: int, wanted: int) -> bool:
    """Whether to read the page before the oldest post read so far: on the first poll until
    ``wanted`` posts, later until the newest post seen before is reached."""
    if not seen:
        return len(posts) < wanted
    return posts[0].id > seen + 1

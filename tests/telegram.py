"""A Telegram-like channel preview on loopback, written for the tests: the page structure
of ``t.me/s/<channel>`` (20 posts a page, newest last, ``?before=`` for older ones) with
text, forwards, replies, media-only posts and links, and the pages a channel without a
preview, an unknown channel or a rate limit gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from tests.servers import HTTPServer, Route

PAGE = 20


@dataclass(frozen=True)
class Post:
    id: int
    html: str | None  # the message text as Telegram renders it; None: a photo, no caption
    forwarded: str | None = None
    reply: str | None = None
    age_minutes: int = 0


def _message(channel: str, post: Post, now: datetime) -> str:
    when = (now - timedelta(minutes=post.age_minutes)).isoformat()
    parts = ['<div class="tgme_widget_message_bubble">']
    if post.forwarded:
        parts.append(
            '<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
            f'<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/x">'
            f'<span dir="auto">{escape(post.forwarded)}</span></a></div>'
        )
    if post.reply:
        parts.append(
            f'<a class="tgme_widget_message_reply" href="https://t.me/{channel}/1">'
            '<div class="tgme_widget_message_author accent_color"><span class='
            f'"tgme_widget_message_author_name">{escape(channel)}</span></div>'
            '<div class="tgme_widget_message_text js-message_reply_text" dir="auto">'
            f"{escape(post.reply)}</div></a>"
        )
    if post.html is None:
        parts.append('<a class="tgme_widget_message_photo_wrap" href="#"></a>')
    else:
        parts.append(
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{post.html}</div>'
        )
    parts.append(
        '<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" '
        f'href="https://t.me/{channel}/{post.id}"><time datetime="{when}" class="time">'
        "12:00</time></a></div></div>"
    )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{channel}/{post.id}">{"".join(parts)}</div></div>'
    )


def page(channel: str, posts: list[Post], now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    messages = "".join(_message(channel, p, now) for p in sorted(posts, key=lambda p: p.id))
    more = (
        f'<a class="tme_messages_more js-messages_more" data-before="{min(p.id for p in posts)}" '
        f'href="/s/{channel}?before={min(p.id for p in posts)}"></a>'
        if posts
        else ""
    )
    return (
        "<!DOCTYPE html><html><head><title>Channel</title></head><body>"
        '<div class="tgme_channel_info"><div class="tgme_channel_info_header_title">'
        f'<span dir="auto">{escape(channel)}</span></div></div>'
        f'<section class="tgme_channel_history js-message_history">{more}{messages}</section>'
        "</body></html>"
    ).encode()


def serve_channel(server: HTTPServer, channel: str, posts: list[Post]) -> None:
    """The channel's newest page and, for each page, the one before it."""
    ordered = sorted(posts, key=lambda p: p.id)
    server.routes[f"/s/{channel}"] = Route(page(channel, ordered[-PAGE:]))
    for end in range(len(ordered) - PAGE, 0, -PAGE):
        before = ordered[end].id
        older = ordered[max(0, end - PAGE) : end]
        server.routes[f"/s/{channel}?before={before}"] = Route(page(channel, older))


def serve_without_preview(server: HTTPServer, channel: str) -> None:
    """A channel whose owner turned the preview off: /s/ sends to the plain page."""
    server.routes[f"/s/{channel}"] = Route(status=302, headers={"Location": f"/{channel}"})
    server.routes[f"/{channel}"] = Route(
        b'<html><body><div class="tgme_page"><div class="tgme_page_title">'
        + escape(channel).encode()
        + b"</div></div></body></html>"
    )


def serve_unknown(server: HTTPServer, channel: str) -> None:
    """A name no channel has (renamed or deleted): /s/ sends to a page with no title."""
    server.routes[f"/s/{channel}"] = Route(status=302, headers={"Location": f"/{channel}"})
    server.routes[f"/{channel}"] = Route(b'<html><body><div class="tgme_page"></div></body></html>')

"""Alerts and digests as messages, per channel type, from Jinja2 templates (sandboxed;
an operator may override them with MONITOR_TEMPLATES).

Everything from feeds and pages is untrusted. Every ``{{ }}`` output is escaped for its
target by the environment itself, so an overriding template is safe without filters:
- ``md`` (Slack): what CommonMark reads as markup is backslash-escaped; apprise turns the
  Markdown into Slack mrkdwn and entity-escapes ``& < >``, so ``<!channel>`` pings nobody
  and ``troop-movements`` or ``12:00`` arrive as written;
- ``html`` (email): HTML-escaped (autoescape);
- ``txt`` (everything else): plain text; apprise escapes it for the target.
Titles and subjects are one line: CR/LF and invisible control characters removed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from monitor.entities import Alert, Evidence
from monitor.feeds.urls import is_web_link
from monitor.rules.tree import TermSyntaxError, parse_term

MAX_HEADLINE = 300
TEMPLATES = Path(__file__).parent / "templates"
Target = str  # "md", "html" or "txt"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# What CommonMark would read as markup, and apprise turns into Slack mrkdwn: < > become
# entities, [ ] ( ) ! # plain characters; & it escapes itself. Nothing else is escaped:
# Slack has no backslash escapes and would show "troop\-movements".
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#!<>~])")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    target: Target = "txt"


def one_line(text: str, limit: int = MAX_HEADLINE) -> str:
    """No CR/LF or control characters (header injection), no bidi overrides, bounded."""
    text = _CONTROL.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Mentions in the chats we document: @everyone, @here, @channel, @room, @name (Discord,
# Telegram, Matrix, Teams, ntfy, Mattermost...) and <@id>, <@&role>, <#channel>, <!here>
# (Discord). A zero-width space after the @ or the < leaves the text as it reads and makes
# it no mention; links are left whole. Slack is served escaped Markdown instead (md).
_MENTION = re.compile(r"@(?=\w)|<(?=[@#!])")
_LINK = re.compile(r"(https?://\S+)")
CHAT_SCHEMES = frozenset(
    {
        "discord",
        "tgram",
        "matrix",
        "matrixs",
        "msteams",
        "workflow",
        "workflows",
        "ntfy",
        "ntfys",
        "mmost",
        "mmosts",
        "rocket",
        "rockets",
        "zulip",
        "signal",
        "signals",
        "gchat",
        "revolt",
        "lark",
    }
)


def is_chat(apprise_url: str) -> bool:
    """A channel where text can ping people: mentions are neutralised for it."""
    return apprise_url.split(":", 1)[0].lower() in CHAT_SCHEMES


def quiet(text: str) -> str:
    """``text`` with no mention left in it, outside its links."""
    parts = _LINK.split(text)
    return "".join(
        p if i % 2 else _MENTION.sub(lambda m: m.group() + "\u200b", p) for i, p in enumerate(parts)
    )


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(url: str) -> str:
    """http(s) URLs only (no javascript: and friends), one line."""
    url = one_line(url, 2000)
    return url if is_web_link(url) else "#"


def _md_link(url: str) -> Markup:
    # A Markdown link destination: no spaces, parentheses or angle brackets to break out.
    return Markup(quote(safe_url(url), safe=":/?#@!$&'*+,;=%~.-_[]"))


def target_of(apprise_url: str) -> Target:
    scheme = apprise_url.split(":", 1)[0].lower()
    if scheme == "slack" or apprise_url.lower().startswith("https://hooks.slack.com"):
        return "md"
    if scheme in {"mailto", "mailtos"}:
        return "html"
    return "txt"


def _finalize(target: Target) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Markup) or target != "md":
            return value
        return md_escape(str(value))

    return finalize


@lru_cache(maxsize=8)
def environment(target: Target, override: str | None) -> ImmutableSandboxedEnvironment:
    loaders = [FileSystemLoader(override)] if override else []
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES))]),
        autoescape=target == "html",
        finalize=_finalize(target),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
    env.globals["link"] = _md_link
    return env


@dataclass(frozen=True)
class Part:
    text: str
    em: bool


def emphasise(evidence: Evidence) -> list[Part]:
    """The snippet split into parts, the matched term's occurrences (any of its forms)
    marked."""
    pattern = _term_pattern(evidence.term)
    if pattern is None:
        return [Part(evidence.snippet, False)]
    parts, last = [], 0
    for m in pattern.finditer(evidence.snippet):
        parts.append(Part(evidence.snippet[last : m.start()], False))
        parts.append(Part(m.group(), True))
        last = m.end()
    parts.append(Part(evidence.snippet[last:], False))
    return [p for p in parts if p.text]


def _when(alert: Alert) -> str:
    return alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "unknown"


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> re.Pattern[str] | None:
    """What a term matches, as a pattern over the snippet's text: each word's forms (a
    prefix's continuation), words separated as the engine separates them."""
    try:
        parsed = parse_term(term)
    except TermSyntaxError:
        return None
    alternatives = []
    for pattern in parsed.patterns:
        if pattern.regex is not None:
            return None
        pieces = []
        for index, (_, prefix) in enumerate(pattern.parts):
            forms = sorted(pattern.alternatives(index), key=len, reverse=True)
            word = "(?:" + "|".join(re.escape(f) for f in forms) + ")"
            pieces.append(word + (r"\w*" if prefix else ""))
        alternatives.append(r"\W+".join(pieces))
    body = "|".join(f"(?:{a})" for a in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def alert_context(alert: Alert, base_url: str | None) -> dict[str, Any]:
    return {
        "headline": one_line(alert.headline) or "(no headline)",
        "source": one_line(alert.source),
        "url": safe_url(alert.url),
        "published": _when(alert),
        "severity": alert.severity.name,
        "rule_id": alert.rule_id,
        "rule_name": one_line(alert.rule_name, 100),
        "article_page": f"{base_url.rstrip('/')}/articles/{alert.article_id}" if base_url else None,
        "story_page": (
            f"{base_url.rstrip('/')}/stories/{alert.story_id or alert.article_id}"
            if base_url
            else None
        ),
        "facts": one_line(alert.facts, 300),
        "language": one_line(alert.language or "", 10),
        "rules": [
            {"id": rid, "name": one_line(name, 100), "severity": sev.name}
            for rid, name, sev in alert.story_rules
            or ((alert.rule_id, alert.rule_name, alert.severity),)
        ],
        "outlets": [one_line(o, 80) for o in alert.outlets],
        "languages": [one_line(lang, 10) for lang in alert.languages],
        "followup": one_line(alert.followup or "", 200),
        "update": (
            f"Update: the outlet revised this article (revision {alert.revision}) "
            "and the rule matched the new text"
            if alert.revision > 1
            else None
        ),
        "evidence": [
            {
                "term": one_line(e.term, 100),
                "field": e.field,
                "snippet": one_line(e.snippet, 400),
                "parts": emphasise(Evidence(e.term, e.field, one_line(e.snippet, 400))),
            }
            for e in alert.evidence
        ],
    }


def title_of(alert: Alert, followup: bool = False) -> str:
    """ "[high] Troop movements, Belarus border activity: headline"; a follow-up says why."""
    headline = one_line(alert.headline) or "(no headline)"
    severity = max((r[2] for r in alert.story_rules), default=alert.severity).name
    if followup or alert.followup:
        return f"[{severity}] follow-up ({one_line(alert.followup or '', 80)}): {headline}"
    names = ", ".join(r[1] for r in alert.story_rules) or alert.rule_name
    update = "update: " if alert.revision > 1 else ""
    return f"[{severity}] {one_line(names, 100)}: {update}{headline}"


def render(
    alert: Alert,
    target: Target = "txt",
    *,
    base_url: str | None = None,
    followup: bool = False,
    templates: str | None = None,
) -> Message:
    context = alert_context(alert, base_url)
    body = environment(target, templates).get_template(f"alert.{target}.j2").render(context)
    return Message(title=title_of(alert, followup), body=_tidy(body), target=target)


def _tidy(body: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.splitlines())).strip()


@dataclass(frozen=True)
class DigestStory:
    """A story, once, however many rules and reports it has."""

    headline: str
    source: str
    url: str
    published: str
    also: tuple[str, ...]  # the other outlets that reported it
    rules: tuple[str, ...] = ()  # names, most severe first
    languages: tuple[str, ...] = ()
    catch_up: bool = False  # published long before it was first seen
    page: str | None = None  # the story's page on the dashboard


@dataclass(frozen=True)
class DigestGroup:
    severity: str
    stories: tuple[DigestStory, ...]


# What one message may hold, by target: Slack cuts text at 40,000 characters, Telegram and
# most chats at about 4,096; mail has no hard limit but a 150 KB mail is unread.
DIGEST_LIMITS: dict[Target, int] = {"md": 35_000, "html": 90_000, "txt": 3_800}


def render_digest(
    channel: str,
    groups: Sequence[DigestGroup],
    target: Target = "txt",
    *,
    templates: str | None = None,
    part: tuple[int, int] | None = None,
) -> Message:
    count = sum(len(g.stories) for g in groups)
    groups = [  # a link from a feed is an href in HTML and Markdown: http(s) only
        replace(
            g,
            stories=tuple(
                replace(s, url=safe_url(s.url), page=safe_url(s.page) if s.page else None)
                for s in g.stories
            ),
        )
        for g in groups
    ]
    context = {"channel": channel, "groups": groups, "count": count}
    body = environment(target, templates).get_template(f"digest.{target}.j2").render(context)
    of = f" ({part[0]}/{part[1]})" if part and part[1] > 1 else ""
    return Message(
        title=f"Digest for {channel}: {count} stor{'y' if count == 1 else 'ies'}{of}",
        body=_tidy(body),
        target=target,
    )


def render_digests(
    channel: str,
    groups: Sequence[DigestGroup],
    target: Target = "txt",
    *,
    templates: str | None = None,
) -> list[Message]:
    """The digest as messages that each fit the target (``DIGEST_LIMITS``), stories in
    order and never cut in two; one message when it fits."""
    limit = DIGEST_LIMITS[target]
    whole = render_digest(channel, groups, target, templates=templates)
    if len(whole.body) <= limit:
        return [whole]
    empty = len(render_digest(channel, [], target, templates=templates).body)
    parts: list[list[DigestGroup]] = [[]]
    size = empty
    for group in groups:
        for story in group.stories:
            one = render_digest(
                channel, [replace(group, stories=(story,))], target, templates=templates
            )
            cost = len(one.body) - empty
            if parts[-1] and size + cost > limit:
                parts.append([])
                size = empty
            current = parts[-1]
            if current and current[-1].severity == group.severity:
                current[-1] = replace(current[-1], stories=(*current[-1].stories, story))
            else:
                current.append(replace(group, stories=(story,)))
            size += cost
    return [
        render_digest(channel, part, target, templates=templates, part=(n, len(parts)))
        for n, part in enumerate(parts, 1)
    ]

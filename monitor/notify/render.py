"""An alert as text. Everything from feeds and pages is untrusted: it is flattened to one
line where it lands in a header or title and sent as plain text, never as markup; the
channel plugins (apprise, body_format=TEXT) escape it for their target, e.g. Slack's
``& < >`` so ``<!channel>`` arrives as text and pings nobody."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from monitor.entities import Alert

MAX_HEADLINE = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def one_line(text: str, limit: int = MAX_HEADLINE) -> str:
    """No CR/LF or control characters (header injection), no bidi overrides, bounded."""
    text = _CONTROL.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(alert: Alert) -> Message:
    headline = one_line(alert.headline) or "(no headline)"
    severity = alert.severity.name
    published = alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "unknown"
    lines = [
        f"{headline}",
        f"Rule: {one_line(alert.rule_name)} ({alert.rule_id}), severity {severity}",
        f"Source: {one_line(alert.source)}",
        f"Published: {published}",
        f"Link: {one_line(alert.url, 2000)}",
        "Why it matched:",
    ]
    for item in alert.evidence:
        lines.append(f"- {one_line(item.term, 100)} ({item.field}): {one_line(item.snippet, 400)}")
    title = f"[{severity}] {one_line(alert.rule_name, 100)}: {headline}"
    return Message(title=title, body="\n".join(lines))

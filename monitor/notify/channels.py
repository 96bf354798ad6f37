"""Channels by name (MONITOR_CHANNEL_<NAME>=URLs), and the transports that carry a message
to one URL, chosen by the URL's scheme: standard output, or apprise for everything else.

A transport only carries a rendered ``Message``; what to send, when, and in which format
(``target``) is decided in ``deliver`` and ``render``. A channel type apprise lacks is a
class with ``target`` and ``send`` and a line in ``transports``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import apprise

from monitor.errors import ConfigError, DeliveryError
from monitor.notify.answers import captured
from monitor.notify.render import Message, Target, target_of

STDOUT = "stdout"
_FORMATS = {
    "md": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
    "txt": apprise.NotifyFormat.TEXT,
}
Echo = Callable[[str], None]


class Transport(Protocol):
    def target(self, url: str) -> Target:
        """The markup the URL's service reads: ``md``, ``html`` or ``txt``."""
        ...

    def send(self, channel: str, url: str, message: Message) -> None:
        """Deliver or raise ``DeliveryError`` with what the other side said."""
        ...


@dataclass(frozen=True)
class StdoutTransport:
    """No channel configured: alerts are printed, so a first run shows them."""

    echo: Echo

    def target(self, url: str) -> Target:
        return "txt"

    def send(self, channel: str, url: str, message: Message) -> None:
        self.echo(f"{message.title}\n{message.body}\n")


class AppriseTransport:
    def target(self, url: str) -> Target:
        return target_of(url)

    def send(self, channel: str, url: str, message: Message) -> None:
        with captured() as answers:  # apprise logs the URL, tokens and all, as it loads it
            client = apprise.Apprise()
            if not client.add(url):
                raise DeliveryError(channel, "an apprise URL is not valid")
            ok = client.notify(
                title=message.title, body=message.body, body_format=_FORMATS[message.target]
            )
        if not ok:
            raise DeliveryError(channel, answers.text() or "the channel refused the message")


def transports(echo: Echo) -> Mapping[str, Transport]:
    """URL scheme -> transport; ``""`` is every other scheme."""
    return {STDOUT: StdoutTransport(echo), "": AppriseTransport()}


@dataclass(frozen=True)
class Channels:
    urls: Mapping[str, tuple[str, ...]]

    @property
    def stdout_only(self) -> bool:
        """No channel configured at all: every alert is printed, so a first run shows them."""
        return not self.urls

    def targets(self, name: str) -> tuple[str, ...] | None:
        """URLs of ``name``; ``(STDOUT,)`` in stdout mode; None if not configured."""
        if self.stdout_only:
            return (STDOUT,)
        return self.urls.get(name)

    def unknown(self, names: list[str]) -> list[str]:
        return [] if self.stdout_only else [n for n in names if n not in self.urls]

    def check(self) -> None:
        """Every URL must be one apprise can send to, found at start, not at the first
        alert; the error names the variable, never the URL's secrets."""
        problems = []
        for name, urls in sorted(self.urls.items()):
            for place, url in enumerate(urls, start=1):
                if url != STDOUT and apprise.Apprise.instantiate(url) is None:
                    scheme = url.split(":", 1)[0] if ":" in url else "?"
                    problems.append(
                        f"MONITOR_CHANNEL_{name.upper()}: URL {place} ({scheme}://…) is not "
                        "one apprise can send to; see `monitor channels test`"
                    )
        if problems:
            raise ConfigError("\n".join(problems))


def transport_for(table: Mapping[str, Transport], url: str) -> Transport:
    scheme = url.split(":", 1)[0].lower() if ":" in url else url.lower()
    return table.get(scheme) or table[""]

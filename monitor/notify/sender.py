"""Turning alerts, digests and notices into messages on a channel's URLs, each URL through
the transport its scheme names (``channels``)."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

from monitor.entities import Alert
from monitor.errors import DeliveryError
from monitor.notify.channels import Channels, Echo, Transport, transport_for, transports
from monitor.notify.render import (
    DigestGroup,
    Message,
    is_chat,
    one_line,
    quiet,
    render,
    render_digests,
)
from monitor.notify.settings import MonitorFile
from monitor.store.notices import ADMIN_CHANNEL


def _same(message: Message, _target: str) -> Message:
    return message


def target_key(url: str) -> str:
    """A target's name in the outbox: stable while its URL is, and no secret in it."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


log = logging.getLogger(__name__)


class Sender:
    def __init__(
        self,
        channels: Channels,
        echo: Echo,
        settings: MonitorFile | None = None,
        base_url: str | None = None,
        templates: str | None = None,
        carriers: Mapping[str, Transport] | None = None,
    ) -> None:
        self.channels = channels
        self.settings = settings or MonitorFile()
        self.base_url = base_url
        self.templates = templates
        self._transports = carriers if carriers is not None else transports(echo)

    def _targets(self, channel: str) -> tuple[str, ...]:
        targets = self.channels.targets(channel)
        if targets is None:
            raise DeliveryError(channel, f"not configured (set MONITOR_CHANNEL_{channel.upper()})")
        return targets

    def send(self, alert: Alert, followup: bool = False) -> None:
        """Send to every target of the alert's channel; DeliveryError if one refused."""
        _, errors = self.send_to_targets(alert, followup)
        if errors:
            raise DeliveryError(alert.channel, "; ".join(errors))

    def send_to_targets(self, alert: Alert, followup: bool = False) -> tuple[set[str], list[str]]:
        """Each of the channel's targets that does not have the alert yet, one by one: the
        keys of those that took it, and what each of the others answered."""
        done: set[str] = set()
        errors: list[str] = []
        urls = self._targets(alert.channel)
        for url in urls:
            key = target_key(url)
            if key in alert.targets_done:
                continue
            try:
                self._send_one(
                    alert.channel,
                    url,
                    lambda target: render(
                        alert,
                        target,
                        base_url=self.base_url,
                        followup=followup,
                        templates=self.templates,
                    ),
                )
            except DeliveryError as exc:
                named = f"{url.split(':', 1)[0]}: " if len(urls) > 1 else ""
                errors.append(named + exc.detail)
            else:
                done.add(key)
        return done, errors

    def send_digest(self, channel: str, groups: list[DigestGroup]) -> None:
        """The digest in as many messages as each target needs (``render_digests``)."""
        for url in self._targets(channel):
            transport = transport_for(self._transports, url)
            target = transport.target(url)
            parts = render_digests(channel, groups, target, templates=self.templates)
            for message in parts:
                self._send_one(channel, url, functools.partial(_same, message))

    def _send(self, channel: str, make: Callable[[str], Message]) -> None:
        for url in self._targets(channel):
            self._send_one(channel, url, make)

    def _send_one(self, channel: str, url: str, make: Callable[[str], Message]) -> None:
        transport = transport_for(self._transports, url)
        message = make(transport.target(url))
        if is_chat(url):  # untrusted text must ping nobody there
            message = replace(message, title=quiet(message.title), body=quiet(message.body))
        transport.send(channel, url, message)

    def test(self, channel: str) -> str:
        """Send a test message to every URL of ``channel``; what the channel answered."""
        answers = []
        for url in self._targets(channel):
            transport = transport_for(self._transports, url)
            message = Message(
                title=f"monitor: test message for channel {channel}",
                body="If you can read this, alerts can reach this channel.",
                target=transport.target(url),
            )
            transport.send(channel, url, message)
            scheme = url.split(":", 1)[0]
            answers.append(f"{scheme}: printed" if scheme == url else f"{scheme}: accepted")
        return "; ".join(answers)

    def notice(self, title: str, body: str, channel: str = ADMIN_CHANNEL) -> None:
        """An operational message (feed down, rate limited); raises ``DeliveryError`` when
        the channel refuses it or is not configured."""
        if channel not in self.channels.urls and not self.channels.stdout_only:
            raise DeliveryError(channel, f"not configured (set MONITOR_CHANNEL_{channel.upper()})")
        self._send(channel, lambda _target: Message(one_line(title), body, "txt"))

    def notice_quietly(self, title: str, body: str, channel: str = ADMIN_CHANNEL) -> bool:
        """``notice``, best effort: a refusal is logged, never raised."""
        try:
            self.notice(title, body, channel)
        except DeliveryError as exc:
            log.warning("notice %r not delivered: %s", title, exc)
            return False
        return True

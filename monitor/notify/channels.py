"""Channels by name, defined in the environment (MONITOR_CHANNEL_<NAME>=apprise URLs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STDOUT = "stdout"


@dataclass(frozen=True)
class Channels:
    urls: Mapping[str, tuple[str, ...]]

    @property
    def stdout_only(self) -> bool:
        """No channel configured at all: every alert is printed, so a first run shows them."""
        return not self.urls

    def targets(self, name: str) -> tuple[str, ...] | None:
        """Apprise URLs of ``name``; ``(STDOUT,)`` in stdout mode; None if not configured."""
        if self.stdout_only:
            return (STDOUT,)
        return self.urls.get(name)

    def unknown(self, names: list[str]) -> list[str]:
        return [] if self.stdout_only else [n for n in names if n not in self.urls]

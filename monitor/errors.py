"""Every error the monitor raises on purpose.

Domain code raises these; only the CLI turns them into messages and exit codes.

    MonitorError
    ├── ConfigError          bad feeds.yaml, rule file or environment (carries Problems)
    ├── StageError           one article or feed failed in one pipeline stage
    │   ├── FetchError       network, HTTP status, size or deadline (has ``url``)
    │   │   └── BlockedDestination   a link the SSRF guard refused
    │   ├── ParseError       the feed body could not be read as RSS/Atom
    │   └── ExtractError     no text could be extracted from a page
    ├── StoreError           the database refused (migrations, connection)
    └── DeliveryError        a channel refused an alert
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT = "<environment>"  # where a problem with an environment variable is


class MonitorError(Exception):
    """Base of every deliberate error."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file, pointing at where it is."""

    file: Path | str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if str(self.file) == ENVIRONMENT:  # a variable: its name starts the message
            return self.message
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ConfigError(MonitorError):
    """Configuration cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(ENVIRONMENT, 0, 0, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StageError(MonitorError):
    """A failure confined to one stage of one feed or article."""

    stage = "pipeline"

    def __str__(self) -> str:
        return f"{self.stage}: {super().__str__()}"


class FetchError(StageError):
    stage = "fetch"

    def __init__(
        self, url: str, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.url = url
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{url}: {message}")


class BlockedDestination(FetchError):
    """The SSRF guard refused a link from a feed."""


class ParseError(StageError):
    stage = "parse"


class ExtractError(StageError):
    stage = "extract"


class StoreError(MonitorError):
    """The database could not be opened, migrated or written."""


class DeliveryError(MonitorError):
    """A channel did not accept an alert."""

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        self.detail = message  # what the other side said, without the channel
        super().__init__(f"channel {channel!r}: {message}")

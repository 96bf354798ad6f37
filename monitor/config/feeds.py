"""feeds.yaml: the sources an operator lists, validated with file, line and column."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.config.durations import Duration
from monitor.errors import ConfigError, Problem
from monitor.yamlsrc import YamlSource, read_yaml, validation_problems

DEFAULT_FEED_INTERVAL = 300.0
MIN_FEED_INTERVAL = 30.0
MAX_FEED_INTERVAL = 7 * 86400.0  # a feed polled less than weekly is not being watched
MAX_NAME = 200  # the feeds table's name column
DEFAULT_MIN_INTERVAL = 120.0
DEFAULT_MAX_INTERVAL = 3600.0
DEFAULT_KIND = "rss"
TELEGRAM = "https://t.me"  # where `channel: name` entries are read


class FeedConfig(BaseModel):
    """One entry of feeds.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Address of the source (http or https).")
    name: str = Field(min_length=1, max_length=MAX_NAME, description="Unique name in alerts.")
    kind: str = Field(
        default=DEFAULT_KIND,
        description="What the URL is: rss (RSS, Atom, JSON Feed), telegram (a public "
        "channel's web preview; `channel: name` stands for the URL) or page (a news page "
        "without a feed: its article links are the items).",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Settings of the source's kind, if it has any."
    )
    tags: tuple[str, ...] = ()
    language: str | None = Field(default=None, description="ISO code such as en, ru, uk.")
    interval: Duration = Field(default=DEFAULT_FEED_INTERVAL, description="Poll interval.")
    full_text: bool = Field(default=True, description="Fetch and extract the linked page.")
    adaptive: bool = Field(default=True, description="Poll busy feeds more often, quiet ones less.")
    min_interval: Duration | None = Field(default=None, description="Adaptive lower bound.")
    max_interval: Duration | None = Field(default=None, description="Adaptive upper bound.")

    @model_validator(mode="before")
    @classmethod
    def _telegram_channel(cls, data: Any) -> Any:
        """``kind: telegram`` with ``channel: name`` is the channel's web preview."""
        if isinstance(data, dict) and "channel" in data:
            data = dict(data)
            channel = str(data.pop("channel")).strip().lstrip("@")
            if data.get("kind") != "telegram":
                raise ValueError("channel: is for kind: telegram")
            if not re.fullmatch(r"[A-Za-z0-9_]{3,64}", channel):
                raise ValueError(f"{channel!r} is not a Telegram channel name")
            data.setdefault("url", f"{TELEGRAM}/s/{channel}")
            data.setdefault("name", channel)
        return data

    def __hash__(self) -> int:  # options is a dict: hash what identifies the entry
        return hash((self.name, self.url, self.kind))

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an http(s) URL")
        try:
            urlsplit(value).port  # noqa: B018  (a port out of range, a broken IPv6 literal)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid URL: {exc}") from None
        return value

    @field_validator("interval", "min_interval", "max_interval")
    @classmethod
    def _not_too_often(cls, value: float | None) -> float | None:
        if value is not None and not MIN_FEED_INTERVAL <= value <= MAX_FEED_INTERVAL:
            raise ValueError(
                f"must be between {MIN_FEED_INTERVAL:g} seconds and "
                f"{MAX_FEED_INTERVAL / 86400:g} days"
            )
        return value

    @model_validator(mode="after")
    def _bounds(self) -> FeedConfig:
        if not self.lowest <= self.interval <= self.highest:
            raise ValueError(
                f"need min_interval <= interval <= max_interval, got "
                f"{self.lowest:g}s, {self.interval:g}s, {self.highest:g}s"
            )
        return self

    @property
    def lowest(self) -> float:
        if self.min_interval is not None:
            return self.min_interval
        return min(self.interval, DEFAULT_MIN_INTERVAL)

    @property
    def highest(self) -> float:
        if self.max_interval is not None:
            return self.max_interval
        return max(self.interval, DEFAULT_MAX_INTERVAL)


_FEED_LIST = TypeAdapter(list[FeedConfig])


def load_feeds(path: Path, kinds: Collection[str] = (DEFAULT_KIND,)) -> list[FeedConfig]:
    """Read feeds.yaml: either a list of feeds or ``feeds:`` holding one. ``kinds`` are
    the source kinds the caller can poll (``monitor.sources`` passes its registry)."""
    source = read_yaml(path)
    data = source.data
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and "feeds" in data:
        data, prefix = data["feeds"], ("feeds",)
    if not isinstance(data, list) or not data:
        raise ConfigError(source.problem(prefix, "expected a non-empty list of feeds"))
    try:
        feeds = _FEED_LIST.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(source, exc, FeedConfig, prefix=prefix)) from None
    problems = _duplicates(source, feeds, prefix) + _unknown_kinds(source, feeds, prefix, kinds)
    if problems:
        raise ConfigError(problems)
    return feeds


def _duplicates(
    source: YamlSource, feeds: list[FeedConfig], prefix: tuple[str, ...]
) -> list[Problem]:
    problems, seen = [], set()
    for index, feed in enumerate(feeds):
        if feed.name in seen:
            problems.append(
                source.problem((*prefix, index, "name"), f"duplicate feed name {feed.name!r}")
            )
        seen.add(feed.name)
    return problems


def _unknown_kinds(
    source: YamlSource, feeds: list[FeedConfig], prefix: tuple[str, ...], kinds: Collection[str]
) -> list[Problem]:
    known = ", ".join(sorted(kinds))
    return [
        source.problem((*prefix, index, "kind"), f"unknown kind {feed.kind!r} (known: {known})")
        for index, feed in enumerate(feeds)
        if feed.kind not in kinds
    ]

"""Per-channel delivery settings, from the ``channels:`` section of monitor.yaml (the URLs
themselves stay in the environment), and story grouping settings (``stories:``)."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.config import Duration
from monitor.errors import ConfigError
from monitor.stories import STORY_SIMILARITY, STORY_WINDOW
from monitor.stories.link import LinkSettings
from monitor.yamlsrc import read_yaml, validation_problems

DEFAULT_RATE_LIMIT = 20  # alerts per hour per channel
DEFAULT_DIGEST = "0 * * * *"  # hourly


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use names like Europe/Kyiv)") from None
    return value


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time

    def end_after(self, local_now: object) -> timedelta | None:
        """How long until quiet hours end, if ``local_now`` (a time) is inside them."""
        from datetime import datetime

        assert isinstance(local_now, datetime)
        now = local_now.time().replace(tzinfo=None)
        inside = (
            (self.start <= now < self.end)
            if self.start < self.end
            else (now >= self.start or now < self.end)
        )
        if not inside:
            return None
        end = local_now.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local_now:
            end += timedelta(days=1)
        return end - local_now


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_severity: Literal["info", "low", "medium", "high", "critical"] = "info"
    mode: Literal["immediate", "digest"] = "immediate"
    digest: str = Field(default=DEFAULT_DIGEST, description="cron: minute hour day month weekday")
    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    rate_limit: int = Field(default=DEFAULT_RATE_LIMIT, ge=0, description="0: no limit")
    also_reported: Literal["digest", "followup", "off"] = "digest"
    corrections: bool = Field(
        default=False, description="a follow-up when an article it was alerted of is revised"
    )
    catch_up_after: Duration = Field(
        default=2 * 86400.0,
        description="an item this much older than its first sighting (a new feed's back "
        "catalogue, a long outage) goes to the digest as catch-up, not an alert (0: never)",
    )
    # After a story's first message, a follow-up only when it matters (``notify.followup``).
    followup_severity: bool = Field(default=True, description="a rule of higher severity fires")
    followup_figures: float = Field(
        default=1.25, ge=0, description="a figure changes by this factor (0: never)"
    )
    followup_outlets: int = Field(default=8, ge=0, description="the story reaches N outlets")
    followup_languages: int = Field(default=4, ge=0, description="... or M languages")
    followup_every: Duration = Field(
        default=3600.0, description="at most one follow-up per story this often (not critical)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("digest")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a cron schedule ({exc})") from None
        return value

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.digest, timezone=ZoneInfo(self.timezone))


class StorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: Duration = STORY_WINDOW
    similarity: float = Field(default=STORY_SIMILARITY, gt=0, le=1)
    # Across wording and language (``monitor.stories.link``): which embedder, and the
    # cosine (plus 0.01 per shared anchor, at most 3) that makes one story, by language pair.
    embedder: str = "e5"
    # A story's first message waits this long for the same poll round's other reports.
    settle: Duration = 10.0
    same_language: float = Field(default=LinkSettings().same_language, gt=0, le=1)
    close_languages: float = Field(default=LinkSettings().close_languages, gt=0, le=1)
    other_languages: float = Field(default=LinkSettings().other_languages, gt=0, le=1)

    def links(self) -> LinkSettings:
        return LinkSettings(self.same_language, self.close_languages, self.other_languages)


class MonitorFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, ChannelSettings] = {}
    stories: StorySettings = StorySettings()

    def channel(self, name: str) -> ChannelSettings:
        return self.channels.get(name) or ChannelSettings()


def load_monitor_file(path: Path, *, required: bool) -> MonitorFile:
    """monitor.yaml; absent is fine unless the operator named it (MONITOR_CONFIG)."""
    if not path.exists() and not required:
        return MonitorFile()
    source = read_yaml(path)
    data = source.data or {}
    if not isinstance(data, dict):
        raise ConfigError(source.problem((), "expected a mapping with channels: and stories:"))
    data = {
        **data,
        "channels": {str(k).lower(): v or {} for k, v in (data.get("channels") or {}).items()},
    }
    try:
        return MonitorFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(source, exc, MonitorFile)) from None

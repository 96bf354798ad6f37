"""Dates feedparser does not read: Russian and Ukrainian month names (``22 июня 2024 10:00``)
and the region's zone abbreviations (``MSK``, ``EET``, ``EEST``, ``CET``, ``CEST``), which it
would otherwise take for UTC, hours off. Registered as feedparser's first date handler; a
date it does not recognise is left to feedparser's own handlers."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import feedparser

ZONES = {
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "MSD": 4,
    "FET": 3,
}
# Stems of the month names in Russian, Ukrainian and English (genitive and nominative both
# begin with them): "июня", "июнь", "червня", "червень", "June", "Jun". Март comes before
# май, so "ма" is only May when it is not "мар".
_MONTHS = (
    ("янв", "січ", "jan"),
    ("фев", "лют", "feb"),
    ("мар", "берез", "mar"),
    ("апр", "квіт", "apr"),
    ("ма", "трав", "may"),
    ("июн", "черв", "jun"),
    ("июл", "лип", "jul"),
    ("авг", "серп", "aug"),
    ("сен", "верес", "sep"),
    ("окт", "жовт", "oct"),
    ("ноя", "листоп", "nov"),
    ("дек", "груд", "dec"),
)
_DATE = re.compile(
    r"(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]{3,12})\.?,?\s+(?P<year>\d{4})(?:\s*г\.?)?"
    r"(?:[,\s]+(?:в\s+|о\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
    r"\s*(?P<zone>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


def month(name: str) -> int | None:
    lowered = name.lower()
    for number, stems in enumerate(_MONTHS, start=1):
        if any(lowered.startswith(stem) for stem in stems):
            return number
    return None


def parse(value: str) -> datetime | None:
    """An aware datetime from a date written with month names, or None."""
    match = _DATE.search(value.strip())
    if match is None or (number := month(match["month"])) is None:
        return None
    offset = _offset(match["zone"])
    if offset is None:
        return None
    try:
        moment = datetime(
            int(match["year"]),
            number,
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
    return moment.astimezone(UTC)


def _offset(zone: str | None) -> timedelta | None:
    if not zone:
        return timedelta(0)
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        sign = -1 if zone[0] == "-" else 1
        return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    hours = ZONES.get(zone.upper())
    return None if hours is None else timedelta(hours=hours)


def _handler(value: str) -> time.struct_time | None:
    """For feedparser: only the dates it would miss or misread, as a UTC struct_time."""
    if value.isascii() and not _regional_zone(value):
        return None
    moment = parse(value)
    return moment.timetuple() if moment else None


def _regional_zone(value: str) -> bool:
    tail = value.strip().rsplit(" ", 1)[-1].upper()
    return tail in ZONES and tail not in {"UT", "UTC", "GMT", "Z"}


_registered = False


def register() -> None:
    """Put the handler first in feedparser's list (once per process)."""
    global _registered
    if not _registered:
        feedparser.registerDateHandler(_handler)
        _registered = True

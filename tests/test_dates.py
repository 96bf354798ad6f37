from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.feeds import dates
from monitor.feeds.parse import parse_feed


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("22 июня 2024 10:00", datetime(2024, 6, 22, 10, 0, tzinfo=UTC)),
        ("22 июня 2024 10:00 MSK", datetime(2024, 6, 22, 7, 0, tzinfo=UTC)),
        ("Сб, 1 марта 2025 г., 09:15:30 +0300", datetime(2025, 3, 1, 6, 15, 30, tzinfo=UTC)),
        ("3 мая 2025", datetime(2025, 5, 3, tzinfo=UTC)),
        ("22 червня 2024, 10:00 EEST", datetime(2024, 6, 22, 7, 0, tzinfo=UTC)),
        ("5 листопада 2024 о 18:30 EET", datetime(2024, 11, 5, 16, 30, tzinfo=UTC)),
        ("12 лютого 2024", datetime(2024, 2, 12, tzinfo=UTC)),
        ("Sat, 22 Jun 2024 10:00:00 MSK", datetime(2024, 6, 22, 7, 0, tzinfo=UTC)),
        ("22 June 2024 10:00 CEST", datetime(2024, 6, 22, 8, 0, tzinfo=UTC)),
        ("1 Dec 2024 10:00 CET", datetime(2024, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_month_names_and_the_regions_zones(written: str, utc: datetime) -> None:
    assert dates.parse(written) == utc


@pytest.mark.parametrize("written", ["31 февраля 2024", "22 Smarch 2024", "no date", "22 июня"])
def test_what_is_no_date_gives_none(written: str) -> None:
    assert dates.parse(written) is None


def test_feeds_carry_the_dates_feedparser_alone_would_miss_or_misread() -> None:
    items = "".join(
        f"<item><title>t{i}</title><link>http://e.org/{i}</link><pubDate>{when}</pubDate></item>"
        for i, when in enumerate(
            ["22 июня 2024 10:00", "Sat, 22 Jun 2024 10:00:00 MSK", "Sat, 22 Jun 2024 10:00:00 GMT"]
        )
    )
    body = f'<rss version="2.0"><channel><title>d</title>{items}</channel></rss>'.encode()
    got = [e.published for e in parse_feed(body, "http://e.org/rss").entries]
    assert got == [
        datetime(2024, 6, 22, 10, 0, tzinfo=UTC),
        datetime(2024, 6, 22, 7, 0, tzinfo=UTC),
        datetime(2024, 6, 22, 10, 0, tzinfo=UTC),
    ]

from datetime import UTC, datetime, timedelta

from monitor.entities import FeedRef
from monitor.feeds.schedule import adaptive_interval, after_failure, after_success

FEED = FeedRef(1, "f", "http://e.org/rss", None, (), True, interval=300, lowest=120, highest=3600)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def every(minutes: float, count: int = 6) -> list[datetime]:
    return [T0 - timedelta(minutes=minutes * i) for i in range(count)]


def test_busy_feeds_are_polled_more_often_quiet_ones_less_within_bounds() -> None:
    assert adaptive_interval(FEED, every(6)) == 180  # half the 6-minute gap
    assert adaptive_interval(FEED, every(1)) == 120  # never below min_interval
    assert adaptive_interval(FEED, every(7 * 24 * 60)) == 3600  # weekly: max_interval
    assert adaptive_interval(FEED, every(6, count=1)) == 300  # too little to tell


def test_success_respects_max_age_and_retry_after_up_to_the_ceiling() -> None:
    assert after_success(FEED, every(6), None, 6 * 3600) == 180
    assert after_success(FEED, every(6), 1800, 6 * 3600) == 1800
    assert after_success(FEED, every(6), 10**6, 6 * 3600) == 6 * 3600
    fixed = FeedRef(**{**FEED.__dict__, "adaptive": False})
    assert after_success(fixed, every(6), None, 6 * 3600) == 300


def test_failures_back_off_exponentially_up_to_the_ceiling() -> None:
    waits = [after_failure(FEED, n, None, 6 * 3600) for n in range(1, 10)]
    assert waits[:4] == [300, 600, 1200, 2400]
    assert waits[-1] == 6 * 3600 and waits == sorted(waits)
    assert after_failure(FEED, 1, 3600, 6 * 3600) == 3600  # Retry-After wins when longer

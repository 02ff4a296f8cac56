"""The FX day: 17:00 New York to 17:00 New York, across daylight saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tradewind.domain.fxday import fx_day, fx_day_ending_by


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_winter_day_is_22_to_22_utc() -> None:
    d = fx_day(date(2024, 1, 2))
    assert (d.start, d.end) == (utc(2024, 1, 1, 22), utc(2024, 1, 2, 22))
    assert d.label == "2024-01-02"
    assert d.end_us - d.start_us == 86_400 * 1_000_000


def test_a_summer_day_is_21_to_21_utc() -> None:
    d = fx_day(date(2024, 7, 10))
    assert (d.start, d.end) == (utc(2024, 7, 9, 21), utc(2024, 7, 10, 21))


def test_the_days_across_dst_changes_are_23_and_25_hours() -> None:
    spring = fx_day(date(2024, 3, 11))  # New York went to EDT on Sunday 10 March, 02:00
    assert (spring.start, spring.end) == (utc(2024, 3, 10, 21), utc(2024, 3, 11, 21))
    assert spring.end - spring.start == timedelta(hours=24)
    sunday = fx_day(date(2024, 3, 10))
    assert sunday.end - sunday.start == timedelta(hours=23)
    autumn = fx_day(date(2024, 11, 3))  # back to EST on Sunday 3 November, 02:00
    assert (autumn.start, autumn.end) == (utc(2024, 11, 2, 21), utc(2024, 11, 3, 22))
    assert autumn.end - autumn.start == timedelta(hours=25)


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (utc(2024, 1, 2, 22), "2024-01-02"),  # exactly the roll: the day ending then
        (utc(2024, 1, 2, 21, 59, 59), "2024-01-01"),
        (utc(2024, 1, 3, 3), "2024-01-02"),  # 22:00 New York on the 2nd
        (utc(2024, 7, 10, 21), "2024-07-10"),
        (utc(2024, 7, 10, 17), "2024-07-09"),  # 13:00 New York
    ],
)
def test_the_day_ending_by_an_instant(instant: datetime, day: str) -> None:
    assert fx_day_ending_by(instant).label == day
    assert fx_day_ending_by(instant).end <= instant


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        fx_day_ending_by(datetime(2024, 1, 2, 22))

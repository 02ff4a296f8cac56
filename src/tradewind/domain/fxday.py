"""The FX trading day: day D runs from 17:00 New York time on D-1 to 17:00 New York time on D
(the market's daily roll), whatever New York's UTC offset is that day (DST-aware: 21:00 UTC
in the summer, 22:00 UTC in the winter; a day across a DST change is 23 or 25 hours long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
ROLL = time(17, 0)


@dataclass(frozen=True, slots=True)
class FxDay:
    """Trading day ``day`` (its New York date): ``start <= t < end``, both aware UTC."""

    day: date
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.day.isoformat()

    @property
    def start_us(self) -> int:
        return _us(self.start)

    @property
    def end_us(self) -> int:
        return _us(self.end)


def fx_day(day: date) -> FxDay:
    """The UTC bounds of FX day ``day``."""
    end = datetime.combine(day, ROLL, NEW_YORK).astimezone(UTC)
    start = datetime.combine(day - timedelta(days=1), ROLL, NEW_YORK).astimezone(UTC)
    return FxDay(day, start, end)


def fx_day_ending_by(instant: datetime) -> FxDay:
    """The last FX day that has ended at or before ``instant`` (an aware datetime): at 17:00
    New York exactly, the day ending then; a minute earlier, the one before."""
    if instant.tzinfo is None:
        raise ValueError(f"fx_day_ending_by needs an aware datetime, got naive {instant}")
    local = instant.astimezone(NEW_YORK)
    day = local.date() if local.time() >= ROLL else local.date() - timedelta(days=1)
    return fx_day(day)


def _us(t: datetime) -> int:
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

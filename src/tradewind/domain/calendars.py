"""Trading calendars: when an instrument trades, as far as annualising returns needs it.

A small table, not a holiday-exact calendar: annualisation needs the number of trading days
in a year and the length of a session, and those are conventions (252 equity trading days,
260 FX days), not the exact count of one year. The names are the ISO 10383 market
identifiers that ``exchange_calendars`` uses, so a holiday-exact calendar can replace a
row later without renaming anything.

============ ============================= ========= ===============================
calendar     sessions                      days/year session (local time)
============ ============================= ========= ===============================
fx           Sunday 17:00 - Friday 17:00   260       24 h (America/New_York)
crypto       every day, around the clock   365       24 h (UTC)
XNYS         NYSE, Monday - Friday         252       09:30 - 16:00 America/New_York
XLON         LSE, Monday - Friday          252       08:00 - 16:30 Europe/London
XETR         Xetra, Monday - Friday        252       09:00 - 17:30 Europe/Berlin
XTKS         Tokyo, Monday - Friday        245       09:00 - 15:30 Asia/Tokyo
============ ============================= ========= ===============================

Bars in a year: one a trading day for daily bars; for intraday bars, the bars one session
holds (a partial bar at either end counts: 09:30 - 16:00 holds seven H1 bars on the hour
grid) times the trading days. FX gives 260 daily and 6,240 hourly bars, as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from tradewind.domain.market import Timeframe


@dataclass(frozen=True, slots=True)
class Sessions:
    days_per_year: int
    open_minute: int  # minutes after local midnight the session opens
    close_minute: int  # ... and closes (1440: around the clock)
    timezone: str

    @property
    def session_seconds(self) -> int:
        return (self.close_minute - self.open_minute) * 60


class TradingCalendar(StrEnum):
    FX = "fx"
    CRYPTO = "crypto"
    XNYS = "XNYS"
    XLON = "XLON"
    XETR = "XETR"
    XTKS = "XTKS"

    @property
    def sessions(self) -> Sessions:
        return _SESSIONS[self]

    def periods_per_year(self, timeframe: Timeframe) -> float:
        """Bars of ``timeframe`` in a trading year of this calendar (to annualise returns)."""
        s = self.sessions
        if timeframe.seconds >= 86_400:
            return float(s.days_per_year * 86_400 // timeframe.seconds)
        step = timeframe.seconds
        first = (s.open_minute * 60) // step * step
        bars_a_session = math.ceil((s.close_minute * 60 - first) / step)
        return float(s.days_per_year * bars_a_session)

    @classmethod
    def parse(cls, text: str) -> TradingCalendar:
        for c in cls:
            if c.value.lower() == text.strip().lower():
                return c
        names = ", ".join(c.value for c in cls)
        raise ValueError(f"unknown trading calendar {text!r}; expected one of {names}")


_SESSIONS: dict[TradingCalendar, Sessions] = {
    TradingCalendar.FX: Sessions(260, 0, 1440, "America/New_York"),
    TradingCalendar.CRYPTO: Sessions(365, 0, 1440, "UTC"),
    TradingCalendar.XNYS: Sessions(252, 9 * 60 + 30, 16 * 60, "America/New_York"),
    TradingCalendar.XLON: Sessions(252, 8 * 60, 16 * 60 + 30, "Europe/London"),
    TradingCalendar.XETR: Sessions(252, 9 * 60, 17 * 60 + 30, "Europe/Berlin"),
    TradingCalendar.XTKS: Sessions(245, 9 * 60, 15 * 60 + 30, "Asia/Tokyo"),
}


def periods_per_year(calendars: list[TradingCalendar], timeframe: Timeframe) -> float:
    """Bars a year for a portfolio of instruments on ``calendars``: the busiest calendar's
    (the portfolio's equity is stamped on the union of its instruments' bars); the FX year
    when no calendar is known."""
    if not calendars:
        return TradingCalendar.FX.periods_per_year(timeframe)
    return max(c.periods_per_year(timeframe) for c in calendars)

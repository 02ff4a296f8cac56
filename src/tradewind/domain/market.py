"""Market data types: timeframes, price sides and bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class PriceSide(StrEnum):
    MID = "mid"
    BID = "bid"
    ASK = "ask"


# The one trading-year length every annualisation uses (metrics, tear sheets, position sizing,
# the synthetic generator). FX trades around the clock five days a week and has no exchange
# holidays, so its year is 52 weeks x 5 days x 24 hours: 260 daily bars (weekdays), not the
# 252 trading days of an equity exchange calendar; H1 bars are 260 x 24 = 6240 a year.
FX_TRADING_DAYS_PER_YEAR = 52 * 5
FX_TRADING_SECONDS_PER_YEAR = FX_TRADING_DAYS_PER_YEAR * 86_400

_SECONDS: dict[str, int] = {
    "S5": 5,
    "S10": 10,
    "S15": 15,
    "S30": 30,
    "M1": 60,
    "M2": 120,
    "M4": 240,
    "M5": 300,
    "M10": 600,
    "M15": 900,
    "M30": 1800,
    "H1": 3600,
    "H2": 7200,
    "H3": 10800,
    "H4": 14400,
    "H6": 21600,
    "H8": 28800,
    "H12": 43200,
    "D": 86400,
}


class Timeframe(StrEnum):
    """Bar periods, named as OANDA names its candle granularities: the one table of
    granularities and their lengths (the venue's candles and the OANDA adapter read it).

    Every bar's timestamp is its open time in UTC and lies on the timeframe's grid: a whole
    multiple of the period since the Unix epoch (daily bars open at 00:00 UTC).
    """

    S5 = "S5"
    S10 = "S10"
    S15 = "S15"
    S30 = "S30"
    M1 = "M1"
    M2 = "M2"
    M4 = "M4"
    M5 = "M5"
    M10 = "M10"
    M15 = "M15"
    M30 = "M30"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"
    H4 = "H4"
    H6 = "H6"
    H8 = "H8"
    H12 = "H12"
    D = "D"

    @property
    def seconds(self) -> int:
        return _SECONDS[self.value]

    @property
    def day_aligned(self) -> bool:
        """Whether OANDA aligns these candles to the trading day (``dailyAlignment``, H2 and
        longer) rather than to whole periods since the epoch (H1 and shorter)."""
        return self.seconds > 3600

    @property
    def periods_per_year(self) -> float:
        """Bars in an FX trading year (``FX_TRADING_SECONDS_PER_YEAR``): 260 daily bars."""
        return FX_TRADING_SECONDS_PER_YEAR / self.seconds

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        try:
            return cls(text.strip().upper())
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown timeframe {text!r}; expected one of {names}") from None


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``ts`` is the bar's open time, timezone-aware UTC."""

    instrument: str
    timeframe: Timeframe
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    side: PriceSide = PriceSide.MID

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None or self.ts.utcoffset() != UTC.utcoffset(None):
            raise ValueError(f"bar timestamp {self.ts!r} must be timezone-aware UTC")


def utc_seconds_iso(ts_us: int) -> str:
    """Epoch microseconds as an ISO 8601 UTC time to the second, ``Z``-suffixed (what people
    read in status lines: ``2024-01-02T12:00:00Z``)."""
    stamp = datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")

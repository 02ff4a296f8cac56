"""v20 candles from the venue's own prices: granularities S5 to M, price components M/B/A,
OANDA's count/from/to/includeFirst rules, daily/weekly alignment, volume = tick count.

Candles aggregate the price source's base bars (the stored bars' ticks, or the random walk's
minute bars) when the candle grid lies on the base grid, else the ticks themselves. A candle
with no tick is left out (as OANDA does); one whose period has not ended at the clock's now
is ``complete: false`` and holds only the ticks up to now.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from tradewind.domain import Timeframe
from tradewind.venue.prices import NS, BaseBars, PriceSource, _concat_bars
from tradewind.venue.wire import TimeFormat, VenueError, bad_value, format_time, parse_time

FIXED = {t.value: t.seconds for t in Timeframe if not t.day_aligned}  # on the epoch grid
HOURLY_ALIGNED = {
    t.value: t.seconds // 3600 for t in Timeframe if t.day_aligned and t.seconds < 86_400
}
GRANULARITIES = (*FIXED, *HOURLY_ALIGNED, "D", "W", "M")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
APPROX_SECONDS = {
    **FIXED,
    **{g: h * 3600 for g, h in HOURLY_ALIGNED.items()},
    "D": Timeframe.D.seconds,
    "W": 7 * 86_400,
    "M": 31 * 86_400,
}
MAX_COUNT = 5000
DEFAULT_COUNT = 500
_INTEGER = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True, slots=True)
class Alignment:
    daily: int = 17
    timezone: str = "America/New_York"
    weekly: str = "Friday"


def _day_starts(lo: int, hi: int, align: Alignment, pad_days: int) -> list[int]:
    tz = ZoneInfo(align.timezone)
    d0 = datetime.fromtimestamp(lo // NS, UTC).astimezone(tz).date() - timedelta(days=pad_days)
    d1 = datetime.fromtimestamp(hi // NS, UTC).astimezone(tz).date() + timedelta(days=pad_days)
    out = []
    d = d0
    while d <= d1:
        local = datetime(d.year, d.month, d.day, align.daily, tzinfo=tz)
        out.append(int(local.timestamp()) * NS)
        d += timedelta(days=1)
    return out


def _month_starts(lo: int, hi: int, align: Alignment) -> list[int]:
    tz = ZoneInfo(align.timezone)
    a = datetime.fromtimestamp(lo // NS, UTC).astimezone(tz)
    b = datetime.fromtimestamp(hi // NS, UTC).astimezone(tz)
    y, m = a.year, a.month - 1
    out = []
    while (y, m) <= (b.year, b.month + 2):
        if m < 1:
            y, m = y - 1, m + 12
        first = datetime(y, m, 1).date()
        # The trading month opens at the alignment hour of the day before (17:00 New York
        # on the last day of the previous month), as the daily candles do.
        d = first - timedelta(days=1) if align.daily else first
        out.append(int(datetime(d.year, d.month, d.day, align.daily, tzinfo=tz).timestamp()) * NS)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return out


def boundaries(granularity: str, lo: int, hi: int, align: Alignment) -> np.ndarray:
    """Candle boundaries from the one at or before ``lo`` to the first at or after ``hi``:
    candle i is ``[b[i], b[i+1])``."""
    if granularity in FIXED:
        p = FIXED[granularity] * NS
        first = (lo // p) * p
        last = -((-hi) // p) * p
        if last <= first:
            last = first + p
        return np.arange(first, last + 1, p, dtype=np.int64)
    if granularity in HOURLY_ALIGNED:
        days = _day_starts(lo, hi, align, 2)
        step = HOURLY_ALIGNED[granularity] * 3600 * NS
        pts: list[int] = []
        for a, b in itertools.pairwise(days):
            pts.extend(range(a, b, step))
        pts.append(days[-1])
        arr = np.array(pts, dtype=np.int64)
    elif granularity == "D":
        arr = np.array(_day_starts(lo, hi, align, 2), dtype=np.int64)
    elif granularity == "W":
        tz = ZoneInfo(align.timezone)
        want = WEEKDAYS.index(align.weekly)
        days = _day_starts(lo, hi, align, 9)
        arr = np.array(
            [
                t
                for t in days
                if datetime.fromtimestamp(t // NS, UTC).astimezone(tz).weekday() == want
            ],
            dtype=np.int64,
        )
    elif granularity == "M":
        arr = np.array(_month_starts(lo, hi, align), dtype=np.int64)
    else:
        raise bad_value("granularity")
    i0 = max(int(np.searchsorted(arr, lo, "right")) - 1, 0)
    i1 = min(int(np.searchsorted(arr, hi, "left")), len(arr) - 1)
    return arr[i0 : max(i1, i0 + 1) + 1]


def _data(source: PriceSource, name: str, b: np.ndarray, now: int) -> BaseBars:
    """Base bars (or ticks as one-tick bars) covering ``[b[0], min(b[-1], now])``."""
    path = source.path(name)
    lo, hi = int(b[0]), min(int(b[-1]), now + 1)
    if hi <= lo:
        return _concat_bars([])
    base = path.base_ns
    if int(b[1] - b[0]) >= base and not np.any(b % base):
        cut = min(hi, (now // base) * base)  # base bars that have ended by now
        parts = [path.base_bars(lo, cut)] if cut > lo else []
        if hi > max(cut, lo):
            parts.append(BaseBars.from_ticks(path.ticks(max(cut, lo), hi)))
        return _concat_bars(parts)
    return BaseBars.from_ticks(path.ticks(lo, hi))


@dataclass(frozen=True, slots=True)
class Candles:
    """Aggregated candles: ``start``/``end`` per candle, ``ohlc[side]`` (n, 4), ``volume``."""

    start: np.ndarray
    end: np.ndarray
    ohlc: dict[str, np.ndarray]
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def slice(self, s: slice | np.ndarray) -> Candles:
        return Candles(
            self.start[s], self.end[s], {k: v[s] for k, v in self.ohlc.items()}, self.volume[s]
        )


def aggregate(source: PriceSource, name: str, b: np.ndarray, now: int) -> Candles:
    """The non-empty candles on boundaries ``b`` (only data up to ``now``)."""
    data = _data(source, name, b, now)
    if len(data.ts) == 0:
        e = np.empty(0, np.int64)
        return Candles(e, e, {s: np.empty((0, 4)) for s in ("mid", "bid", "ask")}, e)
    bucket = np.searchsorted(b, data.ts, "right") - 1
    ok = (bucket >= 0) & (bucket < len(b) - 1)
    if not ok.all():
        bucket = bucket[ok]
        data = BaseBars(data.ts[ok], {s: a[ok] for s, a in data.ohlc.items()}, data.volume[ok])
    heads = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    tails = np.r_[heads[1:] - 1, len(bucket) - 1]
    ohlc = {}
    for side, a in data.ohlc.items():
        ohlc[side] = np.stack(
            [
                a[heads, 0],
                np.maximum.reduceat(a[:, 1], heads),
                np.minimum.reduceat(a[:, 2], heads),
                a[tails, 3],
            ],
            axis=1,
        )
    ids = bucket[heads]
    return Candles(b[ids], b[ids + 1], ohlc, np.add.reduceat(data.volume, heads))


def _bool(params: Mapping[str, str], name: str, default: bool) -> bool:
    v = params.get(name)
    if v is None:
        return default
    if v.lower() in ("true", "1"):
        return True
    if v.lower() in ("false", "0"):
        return False
    raise bad_value(name)


def _int(params: Mapping[str, str], name: str) -> int | None:
    v = params.get(name)
    if v is None:
        return None
    # ASCII digits only: int() would also take "١٢", " 5", "5_000" and 4300-digit numbers
    if not _INTEGER.fullmatch(v):
        raise bad_value(name)
    return int(v)


@dataclass(frozen=True, slots=True)
class CandleQuery:
    granularity: str = "S5"
    price: str = "M"
    count: int | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    include_first: bool = True
    smooth: bool = False
    align: Alignment = Alignment()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> CandleQuery:
        gran = params.get("granularity", "S5")
        if gran not in GRANULARITIES:
            raise bad_value("granularity")
        price = params.get("price", "M")
        if not price or any(ch not in "MBA" for ch in price):
            raise bad_value("price")
        count = _int(params, "count")
        if count is not None and count > MAX_COUNT:
            raise VenueError(400, "Maximum value for 'count' exceeded", "INVALID_VALUE")
        if count is not None and count < 1:
            raise bad_value("count")
        f = parse_time(params["from"], "from") if "from" in params else None
        t = parse_time(params["to"], "to") if "to" in params else None
        if f is not None and t is not None and count is not None:
            raise VenueError(
                400,
                "Invalid value specified for 'count'. Cannot specify 'count' with both "
                "'from' and 'to'",
                "INVALID_VALUE",
            )
        if f is not None and t is not None and t < f:
            raise VenueError(
                400, "Invalid value specified for 'to'. 'to' is before 'from'", "INVALID_VALUE"
            )
        daily = _int(params, "dailyAlignment")
        if daily is not None and not 0 <= daily <= 23:
            raise bad_value("dailyAlignment")
        tz = params.get("alignmentTimezone", "America/New_York")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad_value("alignmentTimezone") from None
        weekly = params.get("weeklyAlignment", "Friday")
        if weekly not in WEEKDAYS:
            raise bad_value("weeklyAlignment")
        return cls(
            gran,
            price,
            count,
            f,
            t,
            _bool(params, "includeFirst", True),
            _bool(params, "smooth", False),
            Alignment(17 if daily is None else daily, tz, weekly),
        )


def select(source: PriceSource, name: str, q: CandleQuery, now: int) -> Candles:
    """Apply OANDA's from/to/count rules."""
    if q.from_ns is not None and q.from_ns > now:
        raise VenueError(
            400, "Invalid value specified for 'from'. Time is in the future", "INVALID_VALUE"
        )
    if q.to_ns is not None and q.to_ns > now:
        raise VenueError(
            400, "Invalid value specified for 'to'. Time is in the future", "INVALID_VALUE"
        )
    approx = APPROX_SECONDS[q.granularity] * NS
    first_data = source.path(name).first_ns
    # No candle starts before the first data's: searching earlier only costs time and memory
    # (and dates near year 1 overflow the calendar arithmetic).
    floor = first_data - 2 * approx
    if q.from_ns is not None and q.to_ns is not None:
        return _between(source, name, q, now, q.from_ns, q.to_ns, floor)
    count = q.count or DEFAULT_COUNT
    if q.from_ns is not None:
        return _after(source, name, q, now, q.from_ns, count, floor)
    return _before(source, name, q, now, count, first_data)


def _between(
    source: PriceSource, name: str, q: CandleQuery, now: int, from_ns: int, to_ns: int, floor: int
) -> Candles:
    """The candles from ``from_ns`` to ``to_ns`` (both given)."""
    approx = APPROX_SECONDS[q.granularity] * NS
    # how many candles the range spans, before building their boundaries (a range of
    # decades in S5 would be hundreds of millions); months are short of 31 days, so
    # the exact check below still applies
    if to_ns - from_ns > approx * (MAX_COUNT + 2):
        raise VenueError(400, "Maximum value for 'count' exceeded", "INVALID_VALUE")
    if to_ns <= floor:
        return _empty()
    b = boundaries(q.granularity, max(from_ns, floor), to_ns, q.align)
    b = b[: int(np.searchsorted(b, to_ns, "left")) + 1]
    if len(b) - 1 > MAX_COUNT:
        raise VenueError(400, "Maximum value for 'count' exceeded", "INVALID_VALUE")
    c = aggregate(source, name, b, now)
    c = c.slice(c.start < to_ns)
    if not q.include_first:
        c = c.slice(c.start > from_ns)
    return c


def _after(
    source: PriceSource, name: str, q: CandleQuery, now: int, from_ns: int, count: int, floor: int
) -> Candles:
    """``count`` candles from ``from_ns`` (fewer if ``now`` comes first)."""
    approx = APPROX_SECONDS[q.granularity] * NS
    lo = max(from_ns, floor)
    span = approx * (count + 2)
    while True:
        hi = min(lo + span, now + 1)
        c = aggregate(source, name, boundaries(q.granularity, lo, hi, q.align), now)
        if not q.include_first:
            c = c.slice(c.start > from_ns)
        if len(c) >= count or hi > now:
            return c.slice(slice(0, count))
        span *= 2


def _before(
    source: PriceSource, name: str, q: CandleQuery, now: int, count: int, first_data: int
) -> Candles:
    """The last ``count`` candles before ``q.to_ns`` (or now)."""
    approx = APPROX_SECONDS[q.granularity] * NS
    floor = first_data - 2 * approx
    end = now + 1 if q.to_ns is None else q.to_ns
    if end <= floor:
        return _empty()
    span = approx * (count + 2)
    while True:
        lo = max(end - span, first_data - approx)
        b = boundaries(q.granularity, lo, end, q.align)
        c = aggregate(source, name, b, now)
        c = c.slice(c.start < end)
        if len(c) >= count or lo <= first_data - approx:
            return c.slice(slice(max(len(c) - count, 0), None))
        span *= 2


def _empty() -> Candles:
    e = np.empty(0, np.int64)
    return Candles(e, e, {s: np.empty((0, 4)) for s in ("mid", "bid", "ask")}, e)


def candles_body(
    source: PriceSource,
    name: str,
    params: Mapping[str, str],
    now: int,
    fmt: TimeFormat = "RFC3339",
) -> dict[str, Any]:
    """The body of ``GET /v3/instruments/{name}/candles``."""
    if name not in source.instruments:
        raise bad_value("instrument")
    q = CandleQuery.parse(params)
    c = select(source, name, q, now)
    places = source.instruments[name].displayPrecision
    parts = [("mid", "M"), ("bid", "B"), ("ask", "A")]
    rendered = {}
    for side, letter in parts:
        if letter in q.price:
            a = c.ohlc[side].copy()
            if q.smooth and len(a) > 1:
                a[1:, 0] = a[:-1, 3]
            rendered[side] = [
                [f"{v:.{places}f}" for v in row] for row in np.round(a, places).tolist()
            ]
    out = []
    for i in range(len(c)):
        candle: dict[str, Any] = {
            "complete": bool(c.end[i] <= now),
            "volume": int(c.volume[i]),
            "time": format_time(int(c.start[i]), fmt),
        }
        for side, rows in rendered.items():
            o, h, low, cl = rows[i]
            candle[side] = {"o": o, "h": h, "l": low, "c": cl}
        out.append(candle)
    return {"instrument": name, "granularity": q.granularity, "candles": out}

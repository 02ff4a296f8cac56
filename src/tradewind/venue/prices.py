"""The venue's prices: ticks per instrument from bars in the security master (a seeded path
inside each bar that visits open -> high/low -> close) or, for an instrument with no stored
bars, a seeded random walk that is a pure function of (seed, instrument, time).

Every price is read at the clock's now. A tick is ``(time_ns, mid, bid, ask)``; bid and ask
are rounded to the instrument's display precision and never cross. FX is closed from Friday
21:00 UTC to Sunday 21:00 UTC: no ticks then, and the latest quote is not tradeable.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import overload

import numpy as np
from sqlalchemy import Connection

from tradewind.venue.clock import Clock
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote

NS = 1_000_000_000
DAY_NS = 86_400 * NS
WEEK_NS = 7 * DAY_NS
MINUTE_NS = 60 * NS
LIQUIDITY = (1_000_000.0, 2_000_000.0, 5_000_000.0)
# The random walk is defined from this day on (2000-01-01 UTC); there are no prices before it.
WALK_EPOCH_DAY = 10_957

# Typical mid prices and spreads (in pips) of the default instruments.
BASE_PRICE = {
    "EUR_USD": 1.10,
    "GBP_USD": 1.27,
    "USD_JPY": 150.0,
    "AUD_USD": 0.66,
    "USD_CHF": 0.88,
    "USD_CAD": 1.36,
    "NZD_USD": 0.61,
    "EUR_GBP": 0.86,
    "EUR_JPY": 163.0,
    "GBP_JPY": 190.0,
    "XAU_USD": 2000.0,
}
SPREAD_PIPS = {
    "EUR_USD": 1.0,
    "GBP_USD": 1.4,
    "USD_JPY": 1.2,
    "AUD_USD": 1.3,
    "USD_CHF": 1.6,
    "USD_CAD": 1.8,
    "NZD_USD": 1.8,
    "EUR_GBP": 1.5,
    "EUR_JPY": 1.8,
    "GBP_JPY": 2.8,
    "XAU_USD": 30.0,
}


@overload
def market_open(t_ns: int) -> bool: ...
@overload
def market_open(t_ns: np.ndarray) -> np.ndarray: ...
def market_open(t_ns: np.ndarray | int) -> np.ndarray | bool:
    """FX hours: open except Friday 21:00 UTC to Sunday 21:00 UTC."""
    t = np.asarray(t_ns, dtype=np.int64)
    dow = ((t // DAY_NS) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    sod = t % DAY_NS
    h21 = 21 * 3600 * NS
    closed = ((dow == 4) & (sod >= h21)) | (dow == 5) | ((dow == 6) & (sod < h21))
    out = ~closed
    return bool(out) if out.ndim == 0 else out


def last_open_instant(t_ns: int) -> int:
    """``t_ns`` if the market is open then, else the last nanosecond before it closed."""
    if market_open(t_ns):
        return t_ns
    dow = ((t_ns // DAY_NS) + 3) % 7
    day0 = (t_ns // DAY_NS) * DAY_NS
    friday = day0 - ((dow - 4) % 7) * DAY_NS
    return friday + 21 * 3600 * NS - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 (wrapping arithmetic): a counter-based hash."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(key: int, ts: np.ndarray, j: int) -> np.ndarray:
    """Uniforms in [0, 1), a pure function of (key, ts, j)."""
    with np.errstate(over="ignore"):
        x = _mix(ts.astype(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
        x = _mix(x + np.uint64(j * 0x632BE59BD9B4E019 & 0xFFFFFFFFFFFFFFFF))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _uniforms(key: int, ts: np.ndarray, js: np.ndarray) -> np.ndarray:
    """``_uniform(key, ts, j)`` for every j of ``js`` at once: shape (len(ts), len(js)),
    bit for bit the same values (uint64 arithmetic wraps as the Python mask does)."""
    with np.errstate(over="ignore"):
        x = _mix(ts.astype(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))[:, None]
        step = np.asarray(js, dtype=np.uint64)[None, :] * np.uint64(0x632BE59BD9B4E019)
        x = _mix(x + step)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass(frozen=True, slots=True)
class Ticks:
    """Ticks of one instrument, oldest first."""

    time: np.ndarray  # int64 ns
    mid: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def select(self, mask: np.ndarray | slice) -> Ticks:
        return Ticks(self.time[mask], self.mid[mask], self.bid[mask], self.ask[mask])

    @staticmethod
    def concat(parts: list[Ticks]) -> Ticks:
        if not parts:
            e = np.empty(0)
            return Ticks(np.empty(0, np.int64), e, e, e)
        if len(parts) == 1:
            return parts[0]
        return Ticks(*(np.concatenate([getattr(p, f) for p in parts]) for f in Ticks.__slots__))


@dataclass(frozen=True, slots=True)
class BaseBars:
    """Bars aggregated from the venue's own ticks (candles are built from these): ``ts`` bar
    open times (ns), ``ohlc[side]`` a (n, 4) array for side in mid/bid/ask, ``volume`` the
    tick counts. Only bars with at least one tick."""

    ts: np.ndarray
    ohlc: dict[str, np.ndarray]
    volume: np.ndarray

    @staticmethod
    def from_ticks(t: Ticks) -> BaseBars:
        return BaseBars(
            t.time,
            {s: np.repeat(getattr(t, s)[:, None], 4, axis=1) for s in ("mid", "bid", "ask")},
            np.ones(len(t), dtype=np.int64),
        )


def _round(x: np.ndarray, places: int) -> np.ndarray:
    return np.round(x, places)


def _bid_ask(mid: np.ndarray, spread: np.ndarray, places: int) -> tuple[np.ndarray, ...]:
    unit = 10.0**-places
    m = _round(mid, places)
    bid = _round(m - spread / 2.0, places)
    ask = _round(bid + np.maximum(_round(spread, places), unit), places)
    return m, bid, ask


def _aggregate_matrix(
    ts: np.ndarray, mid: np.ndarray, bid: np.ndarray, ask: np.ndarray
) -> BaseBars:
    """(bars x ticks) matrices -> one bar per row."""

    def ohlc(a: np.ndarray) -> np.ndarray:
        return np.stack([a[:, 0], a.max(axis=1), a.min(axis=1), a[:, -1]], axis=1)

    vol = np.full(len(ts), mid.shape[1] if mid.ndim == 2 else 0, dtype=np.int64)
    return BaseBars(ts, {"mid": ohlc(mid), "bid": ohlc(bid), "ask": ohlc(ask)}, vol)


class _Path:
    """One instrument's ticks."""

    base_ns: int  # the timeframe of ``base_bars``
    first_ns: int  # no ticks before this
    last_ns: int | None  # no ticks after this (None: unbounded)

    def ticks(self, lo: int, hi: int) -> Ticks:  # lo <= time < hi
        raise NotImplementedError

    def base_bars(self, lo: int, hi: int) -> BaseBars:  # lo <= bar start < hi
        raise NotImplementedError


class WalkPath(_Path):
    """A seeded random walk of the log price in steps of ``step_s`` seconds.

    Each UTC day's level at 00:00 comes from an AR(1) anchor series (so the price stays near
    its base); inside a day the path is a Brownian bridge between two anchors, its increments
    drawn from a generator keyed by (seed, instrument, day). A restarted venue therefore
    continues the same path. Ticks fall on the step grid, only while the market is open.
    """

    DAILY_VOL = 0.006
    PHI = 0.995

    def __init__(self, ins: VenueInstrument, seed: int, step_s: int = 5) -> None:
        if 86_400 % step_s or 60 % step_s:
            raise ValueError("walk step must divide a minute")
        self.ins, self.seed, self.step_ns = ins, int(seed), step_s * NS
        self.key = zlib.crc32(ins.name.encode())
        self.base = BASE_PRICE.get(ins.name, 1.0 if ins.pipLocation <= -3 else 100.0)
        self.spread = SPREAD_PIPS.get(ins.name, 2.0) * ins.pip
        self.places = ins.displayPrecision
        self.n = 86_400 // step_s
        self.base_ns = MINUTE_NS
        self.first_ns = WALK_EPOCH_DAY * DAY_NS
        self.last_ns = None
        self._anchors = np.zeros(1)
        self._days: OrderedDict[int, Ticks] = OrderedDict()
        self._minutes: OrderedDict[int, BaseBars] = OrderedDict()

    def _anchor(self, day: int) -> float:
        """The log level (relative to base) at 00:00 UTC of ``day`` (days since the epoch)."""
        i = day - WALK_EPOCH_DAY
        if i >= len(self._anchors):
            n = max(i + 1, len(self._anchors) + 3660)
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.key, 0xA9C]))
            shocks = rng.standard_normal(n) * self.DAILY_VOL
            out = np.empty(n)
            x = 0.0
            for k in range(n):
                out[k] = x
                x = self.PHI * x + shocks[k]
            self._anchors = out
        return float(self._anchors[max(i, 0)])

    def day(self, day: int) -> Ticks:
        """All ticks of one UTC day (closed-market ticks included; callers mask)."""
        got = self._days.get(day)
        if got is not None:
            self._days.move_to_end(day)
            return got
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.key, day]))
        z = rng.standard_normal(self.n)
        sig = self.DAILY_VOL / math.sqrt(self.n)
        w = np.concatenate([[0.0], np.cumsum(z * sig)])[:-1]  # w_k for k = 0..n-1
        a0, a1 = self._anchor(day), self._anchor(day + 1)
        total = float(np.sum(z) * sig)
        k = np.arange(self.n) / self.n
        logp = a0 + w - k * (total - (a1 - a0))
        mid = self.base * np.exp(logp)
        spread = self.spread * (0.8 + 0.4 * np.abs(z))  # wider on bigger moves
        m, bid, ask = _bid_ask(mid, spread, self.places)
        t = day * DAY_NS + np.arange(self.n, dtype=np.int64) * self.step_ns
        out = Ticks(t, m, bid, ask)
        self._days[day] = out
        if len(self._days) > 16:
            self._days.popitem(last=False)
        return out

    def ticks(self, lo: int, hi: int) -> Ticks:
        lo = max(lo, self.first_ns)
        if hi <= lo:
            return Ticks.concat([])
        parts = []
        for d in range(lo // DAY_NS, (hi - 1) // DAY_NS + 1):
            day = self.day(d)
            i0 = int(np.searchsorted(day.time, lo, "left"))
            i1 = int(np.searchsorted(day.time, hi, "left"))
            if i1 > i0:
                part = day.select(slice(i0, i1))
                opened = market_open(part.time)
                parts.append(part if opened.all() else part.select(opened))
        return Ticks.concat(parts)

    def _day_minutes(self, day: int) -> BaseBars:
        got = self._minutes.get(day)
        if got is not None:
            return got
        t = self.day(day)
        per = MINUTE_NS // self.step_ns
        shape = (1440, per)
        bars = _aggregate_matrix(
            t.time[::per],
            t.mid.reshape(shape),
            t.bid.reshape(shape),
            t.ask.reshape(shape),
        )
        opened = market_open(bars.ts)
        if not opened.all():
            bars = BaseBars(
                bars.ts[opened], {s: a[opened] for s, a in bars.ohlc.items()}, bars.volume[opened]
            )
        self._minutes[day] = bars
        if len(self._minutes) > 512:
            self._minutes.popitem(last=False)
        return bars

    def base_bars(self, lo: int, hi: int) -> BaseBars:
        lo = max(lo, self.first_ns)
        parts = []
        for d in range(lo // DAY_NS, (hi - 1) // DAY_NS + 1) if hi > lo else ():
            b = self._day_minutes(d)
            i0 = int(np.searchsorted(b.ts, lo, "left"))
            i1 = int(np.searchsorted(b.ts, hi, "left"))
            if i1 > i0:
                parts.append(
                    BaseBars(b.ts[i0:i1], {s: a[i0:i1] for s, a in b.ohlc.items()}, b.volume[i0:i1])
                )
        return _concat_bars(parts)


def _concat_bars(parts: list[BaseBars]) -> BaseBars:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return BaseBars(
            np.empty(0, np.int64),
            {s: np.empty((0, 4)) for s in ("mid", "bid", "ask")},
            np.empty(0, np.int64),
        )
    return BaseBars(
        np.concatenate([p.ts for p in parts]),
        {s: np.concatenate([p.ohlc[s] for p in parts]) for s in ("mid", "bid", "ask")},
        np.concatenate([p.volume for p in parts]),
    )


@dataclass
class StoredBars:
    """One instrument's stored bars at one timeframe: mid OHLC (from mid bars, else the
    average of bid and ask) and, when bid and ask bars are stored, the spread at open and
    close. Times are bar open times in ns."""

    tf_ns: int
    ts: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    spread_open: np.ndarray | None = None
    spread_close: np.ndarray | None = None
    extra: dict[str, object] = field(default_factory=dict)


def ticks_per_bar(tf_ns: int) -> int:
    """12 per M1 bar (one per 5 s), at least 4, at most 720 (a D bar: one per 2 minutes)."""
    return int(min(720, max(4, tf_ns // (5 * NS))))


class BarsPath(_Path):
    """Ticks inside stored bars: each bar's path starts at its open, visits its high and low
    (in a seeded order, at seeded ticks), ends at its close, with seeded noise clipped to the
    bar's range; so the ticks of a bar aggregate back to the bar exactly. The spread comes
    from the stored bid/ask bars (interpolated from open to close) or a seeded model around
    the instrument's typical spread, wider in bars with a wide range."""

    def __init__(self, ins: VenueInstrument, bars: StoredBars, seed: int) -> None:
        self.ins, self.bars, self.places = ins, bars, ins.displayPrecision
        self.key = (int(seed) * 0x2545F4914F6CDD1D) ^ zlib.crc32(ins.name.encode())
        self.n = ticks_per_bar(bars.tf_ns)
        self.base_ns = bars.tf_ns
        self.first_ns = int(bars.ts[0]) if len(bars.ts) else 0
        self.last_ns = int(bars.ts[-1]) + bars.tf_ns - 1 if len(bars.ts) else 0
        self.spread = SPREAD_PIPS.get(ins.name, 2.0) * ins.pip
        rng = bars.h - bars.low
        self.typical_range = float(np.median(rng)) if len(rng) and np.median(rng) > 0 else 1.0

    def _matrix(self, i0: int, i1: int) -> tuple[np.ndarray, ...]:
        b, n = self.bars, self.n
        ts = b.ts[i0:i1]
        o, h, lo, c = b.o[i0:i1, None], b.h[i0:i1, None], b.low[i0:i1, None], b.c[i0:i1, None]
        u = [_uniform(self.key, ts, j)[:, None] for j in range(4)]
        high_first = u[0] < np.where(c >= o, 0.35, 0.65)
        k1 = 1 + np.floor(u[1] * (n - 3))  # 1 .. n-3
        k2 = k1 + 1 + np.floor(u[2] * (n - 2 - k1))  # k1+1 .. n-2
        e1 = np.where(high_first, h, lo)
        e2 = np.where(high_first, lo, h)
        j = np.arange(n, dtype=np.float64)[None, :]
        seg1 = o + (e1 - o) * (j / k1)
        seg2 = e1 + (e2 - e1) * ((j - k1) / (k2 - k1))
        seg3 = e2 + (c - e2) * ((j - k2) / (n - 1 - k2))
        path = np.where(j <= k1, seg1, np.where(j <= k2, seg2, seg3))
        anchors = (j == 0) | (j == k1) | (j == k2) | (j == n - 1)
        jitter = _uniforms(self.key, ts, 16 + np.arange(n)) - 0.5
        path = np.where(anchors, path, np.clip(path + jitter * 0.3 * (h - lo), lo, h))
        if b.spread_open is not None and b.spread_close is not None:
            so, sc = b.spread_open[i0:i1, None], b.spread_close[i0:i1, None]
            spread = np.maximum(so + (sc - so) * (j / (n - 1)), 0.0)
        else:
            vol = 1.0 + 0.5 * np.minimum(3.0, (h - lo) / self.typical_range)
            spread = self.spread * vol * (0.8 + 0.4 * u[3]) * np.ones_like(j)
        mid, bid, ask = _bid_ask(path, spread, self.places)
        times = ts[:, None] + (np.arange(n, dtype=np.int64) * (b.tf_ns // n))[None, :]
        return times, mid, bid, ask

    def _span(self, lo: int, hi: int) -> tuple[int, int]:
        ts = self.bars.ts
        return (
            int(np.searchsorted(ts, lo - self.bars.tf_ns, "right")),
            int(np.searchsorted(ts, hi, "left")),
        )

    def ticks(self, lo: int, hi: int) -> Ticks:
        i0, i1 = self._span(lo, hi)
        if i1 <= i0:
            return Ticks.concat([])
        t, m, b, a = (x.ravel() for x in self._matrix(i0, i1))
        keep = (t >= lo) & (t < hi)
        return Ticks(t[keep], m[keep], b[keep], a[keep])

    def base_bars(self, lo: int, hi: int) -> BaseBars:
        ts = self.bars.ts
        i0, i1 = int(np.searchsorted(ts, lo, "left")), int(np.searchsorted(ts, hi, "left"))
        if i1 <= i0:
            return _concat_bars([])
        t, m, b, a = self._matrix(i0, i1)
        return _aggregate_matrix(t[:, 0], m, b, a)


class PriceSource:
    """Prices of the venue's instruments at the clock's now.

    ``latest(name)`` is the last tick at or before now as a :class:`Quote` (None before the
    instrument's first price); ``ticks(name, t0, t1)`` the ticks with ``t0 < time <= t1``;
    ``quotes_between(t0, t1)`` every instrument's, merged in time order. ``halted`` holds
    instruments a fault has halted (their quotes are not tradeable).
    """

    def __init__(
        self,
        clock: Clock,
        instruments: Mapping[str, VenueInstrument],
        seed: int = 0,
        *,
        bars: Mapping[str, StoredBars] | None = None,
        walk_step_s: int = 5,
    ) -> None:
        self.clock, self.seed = clock, int(seed)
        self.instruments = dict(instruments)
        self.halted: set[str] = set()
        self.paths: dict[str, _Path] = {}
        for name, ins in self.instruments.items():
            stored = (bars or {}).get(name)
            if stored is not None and len(stored.ts):
                self.paths[name] = BarsPath(ins, stored, seed)
            else:
                self.paths[name] = WalkPath(ins, seed, walk_step_s)

    @classmethod
    def from_database(
        cls,
        conn: Connection,
        clock: Clock,
        instruments: Mapping[str, VenueInstrument],
        seed: int = 0,
        *,
        walk_step_s: int = 5,
    ) -> PriceSource:
        return cls(
            clock,
            instruments,
            seed,
            bars=load_stored_bars(conn, instruments),
            walk_step_s=walk_step_s,
        )

    def path(self, name: str) -> _Path:
        return self.paths[name]

    def source_of(self, name: str) -> str:
        return "bars" if isinstance(self.paths[name], BarsPath) else "random-walk"

    def first_ns(self) -> int:
        """The earliest price of any instrument (a fast or stepped clock may start there)."""
        return min((p.first_ns for p in self.paths.values()), default=0)

    def ticks(self, name: str, t0: int, t1: int) -> Ticks:
        """Ticks with ``t0 < time <= t1``."""
        return self.paths[name].ticks(t0 + 1, t1 + 1)

    def tradeable(self, name: str, t_ns: int) -> bool:
        if name in self.halted or not market_open(t_ns):
            return False
        last = self.paths[name].last_ns
        return last is None or t_ns <= last

    def quote(
        self, name: str, t: int, mid: float, bid: float, ask: float, tradeable: bool
    ) -> Quote:
        del mid
        step = 10.0 ** -self.instruments[name].displayPrecision
        spread = max(ask - bid, step)
        gap = max(step, round(spread * 0.2 / step) * step)
        places = self.instruments[name].displayPrecision
        bids = tuple((round(bid - k * gap, places), LIQUIDITY[k]) for k in range(len(LIQUIDITY)))
        asks = tuple((round(ask + k * gap, places), LIQUIDITY[k]) for k in range(len(LIQUIDITY)))
        return Quote(name, int(t), bids, asks, tradeable)

    def latest(self, name: str, at_ns: int | None = None) -> Quote | None:
        if name not in self.paths:
            return None
        now = self.clock.now_ns() if at_ns is None else at_ns
        path = self.paths[name]
        t_eff = last_open_instant(now)
        if path.last_ns is not None:
            t_eff = min(t_eff, path.last_ns)
        lo = t_eff - max(path.base_ns, 60 * NS)
        found = None
        # Look back a bar at a time (bars have gaps: weekends, holidays), a few weeks at most.
        for _ in range(64):
            if t_eff < path.first_ns:
                return None
            got = path.ticks(lo, t_eff + 1)
            if len(got):
                found = got
                break
            span = t_eff - lo
            t_eff, lo = lo - 1, lo - 2 * span
            lo = max(lo, path.first_ns - 1)
        if found is None:
            return None
        i = len(found) - 1
        return self.quote(
            name,
            int(found.time[i]),
            float(found.mid[i]),
            float(found.bid[i]),
            float(found.ask[i]),
            self.tradeable(name, now),
        )

    def quotes_between(
        self, t0: int, t1: int, instruments: Iterable[str] | None = None
    ) -> list[Quote]:
        """Every tick with ``t0 < time <= t1`` as quotes, in time order (stable by
        instrument)."""
        out: list[Quote] = []
        for name in instruments if instruments is not None else self.paths:
            t = self.ticks(name, t0, t1)
            for k in range(len(t)):
                tt = int(t.time[k])
                out.append(
                    self.quote(
                        name,
                        tt,
                        float(t.mid[k]),
                        float(t.bid[k]),
                        float(t.ask[k]),
                        self.tradeable(name, tt),
                    )
                )
        out.sort(key=lambda q: q.time_ns)
        return out


def load_stored_bars(
    conn: Connection, instruments: Mapping[str, VenueInstrument]
) -> dict[str, StoredBars]:
    """Each instrument's bars at its finest stored timeframe (mid, else bid/ask average; the
    spread from bid and ask bars when both are stored)."""
    from sqlalchemy import inspect

    from tradewind.domain import Timeframe
    from tradewind.storage.batches import summarize_bars
    from tradewind.storage.market import load_bars

    if not inspect(conn).has_table("bar_series"):
        return {}
    sides: dict[str, dict[str, set[str]]] = {}
    for s in summarize_bars(conn):
        symbol, tf, side = s.instrument, str(s.timeframe), str(s.side)
        if symbol in instruments:
            sides.setdefault(symbol, {}).setdefault(tf, set()).add(side)
    out: dict[str, StoredBars] = {}
    for symbol, by_tf in sides.items():
        tf = min(by_tf, key=lambda t: Timeframe(t).seconds)
        have = by_tf[tf]
        series = {side: load_bars(conn, symbol, tf, side) for side in have}
        if "mid" in series:
            mid = series["mid"]
        elif "bid" in series and "ask" in series:
            b, a = series["bid"], series["ask"]
            common, ib, ia = np.intersect1d(b.ts, a.ts, return_indices=True)
            mid = type(b)(
                ts=common,
                open=(b.open[ib] + a.open[ia]) / 2,
                high=(b.high[ib] + a.high[ia]) / 2,
                low=(b.low[ib] + a.low[ia]) / 2,
                close=(b.close[ib] + a.close[ia]) / 2,
                volume=b.volume[ib],
            )
        else:
            mid = next(iter(series.values()))
        sb = StoredBars(
            Timeframe(tf).seconds * NS,
            mid.ts.astype(np.int64) * 1000,
            mid.open,
            np.maximum.reduce([mid.high, mid.open, mid.close]),
            np.minimum.reduce([mid.low, mid.open, mid.close]),
            mid.close,
        )
        if "bid" in series and "ask" in series:
            b, a = series["bid"], series["ask"]
            common, ib, ia = np.intersect1d(b.ts, a.ts, return_indices=True)
            pos = np.searchsorted(common, mid.ts)
            pos = np.clip(pos, 0, max(len(common) - 1, 0))
            if len(common):
                ok = common[pos] == mid.ts
                so = np.where(ok, a.open[ia][pos] - b.open[ib][pos], np.nan)
                sc = np.where(ok, a.close[ia][pos] - b.close[ib][pos], np.nan)
                fill = SPREAD_PIPS.get(symbol, 2.0) * instruments[symbol].pip
                sb.spread_open = np.where(np.isnan(so), fill, np.maximum(so, 0.0))
                sb.spread_close = np.where(np.isnan(sc), fill, np.maximum(sc, 0.0))
        out[symbol] = sb
    return out

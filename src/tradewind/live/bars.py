"""Mid ticks -> OHLC bars on the timeframe grid, and bars -> ticks that rebuild them exactly.

A bar's ``ts_us`` is its open time on the grid (a whole multiple of the period since the
epoch, as ``Timeframe`` and stored bars define it): a tick at ``t`` belongs to the bucket
``t - t % period``. The bar is built from tick mids: open = first, high = max, low = min,
close = last; ``volume`` is the tick count (OANDA's candle volume is a tick count too, but a
stored vendor bar's volume is not, so volume-based features differ between live and stored
bars).

A bar closes when the first tick of a later bucket arrives (``on_tick`` returns it), or when
its bucket has ended by ``now_us`` (``flush``, which a timer calls so a quiet market does not
hold a bar open). A gap of several empty buckets closes just the one bar that has data: no
synthetic empty bars are made, the same as stored data, which has no bars for closed markets
(weekends), so features see the same rows in live and in backtests.

The first bucket is emitted like any other, even when the trader started in the middle of it
(its open, high and low are then those of the ticks seen): for close-based features that bar
is as good as a full one, and a missing bar would bend the features just as much.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from tradewind.domain.market import Timeframe
from tradewind.domain.series import BarSeries
from tradewind.domain.ticks import Tick

log = logging.getLogger(__name__)

US = 1_000_000


class LiveBar(NamedTuple):
    """One closed bar of mid prices; ``ts_us`` is the open time (int epoch µs, UTC) on the
    grid; ``volume`` the number of ticks. Immutable (a named tuple: one is made per bar on
    the price thread, in one call where a frozen dataclass sets each field apart)."""

    instrument: str
    timeframe: Timeframe
    ts_us: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(slots=True)
class _Open:
    ts_us: int
    open: float
    high: float
    low: float
    close: float
    ticks: int = 1

    def add(self, price: float) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.ticks += 1


class BarAggregator:
    """One instrument's bars at ``timeframe`` from its (filtered, in-order) ticks."""

    def __init__(self, timeframe: Timeframe | str) -> None:
        self.timeframe = Timeframe(timeframe)
        self.period_us = self.timeframe.seconds * US
        self.instrument: str | None = None
        self.late = 0  # ticks for a bucket already closed (e.g. by flush), dropped
        self._bar: _Open | None = None
        self._closed_until = -(2**62)  # ticks before this belong to emitted bars

    def bucket(self, ts_us: int) -> int:
        """The open time of the bar that ``ts_us`` falls in."""
        return ts_us - ts_us % self.period_us

    def on_tick(self, tick: Tick) -> list[LiveBar]:
        """Add ``tick``'s mid; returns the bar it closed (at most one), else ``[]``."""
        if self.instrument is None:
            self.instrument = tick.instrument
        elif tick.instrument != self.instrument:
            raise ValueError(
                f"bar aggregator of {self.instrument} was given a tick of {tick.instrument}"
            )
        if tick.ts_us < self._closed_until:
            self.late += 1
            log.debug("late tick %s ts_us=%d for a closed bar", tick.instrument, tick.ts_us)
            return []
        start, mid = self.bucket(tick.ts_us), tick.mid
        bar = self._bar
        if bar is not None and start == bar.ts_us:
            bar.add(mid)
            return []
        closed = [] if bar is None else [self._close()]
        self._bar = _Open(start, mid, mid, mid, mid)
        return closed

    def flush(self, now_us: int) -> list[LiveBar]:
        """Close the open bar if its bucket has ended by ``now_us``."""
        bar = self._bar
        if bar is None or now_us < bar.ts_us + self.period_us:
            return []
        return [self._close()]

    def _close(self) -> LiveBar:
        bar = self._bar
        assert bar is not None
        assert self.instrument is not None
        self._bar = None
        self._closed_until = bar.ts_us + self.period_us
        return LiveBar(
            self.instrument,
            self.timeframe,
            bar.ts_us,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            float(bar.ticks),
        )


def ticks_from_bars(bars: BarSeries, instrument: str, timeframe: Timeframe | str) -> Iterator[Tick]:
    """Four zero-spread ticks per bar that ``BarAggregator`` turns back into exactly these
    bars (open, high, low, close bit for bit; volume 4): the open at the bar's open time, then
    low and high in the order the bar's path implies (an up bar dips first, a down bar rallies
    first, the convention of bar-path fill models), then the close, spread evenly over the
    period. ``bid == ask == price``, so the mid is the price exactly (a non-zero spread would
    round). For tests and parity runs; ``bars`` must be on the grid and valid (low <= open,
    close <= high)."""
    period = Timeframe(timeframe).seconds * US
    ts = np.asarray(bars.ts, dtype=np.int64)
    if len(ts) and (np.any(ts % period) or np.any(np.diff(ts) <= 0)):
        raise ValueError(f"bars are not increasing on the {timeframe} grid")
    step = period // 4
    for i in range(len(ts)):
        o, h, lo, c = (
            float(bars.open[i]),
            float(bars.high[i]),
            float(bars.low[i]),
            float(bars.close[i]),
        )
        path = (o, lo, h, c) if c >= o else (o, h, lo, c)
        t0 = int(ts[i])
        for k, price in enumerate(path):
            yield Tick(instrument, t0 + k * step, price, price)

"""``twap``: spread the quantity over a horizon in equal slices at jittered times.

At the start the schedule is fixed: slice i of n is due at ``t0 + i * horizon / n`` moved by
``uniform(-jitter, +jitter)`` of a slice interval (a numpy Generator seeded with the config's
``seed`` and ``t0``: replayable from the log, yet not the same pattern at every rebalance),
never before ``t0`` and always inside the horizon. Units are split evenly at the instrument's
units precision with the remainder on the last slice; when that would make slices smaller
than the minimum trade size, fewer slices are used. Each slice is a bounded MARKET FOK (the
``market`` algorithm's order) sent on the first tradeable tick at or after its time.

A slice refused by risk or cancelled by the broker leaves its units: the later slices go on,
nothing is re-sent. At the horizon, anything still open is cancelled and slices not sent yet
are left (``leftover_units``), never rushed out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tradewind.config.execution import TwapConfig
from tradewind.domain.ticks import Tick
from tradewind.oms.execution.base import AlgoBase
from tradewind.oms.execution.market import market_fields
from tradewind.oms.execution.prices import seconds_us


def twap_schedule(t0_us: int, horizon_us: int, slices: int, jitter: float, seed: int) -> list[int]:
    """Due times (epoch µs, ascending) of ``slices`` slices over ``[t0, t0 + horizon)``."""
    if slices < 1 or horizon_us <= 0:
        raise ValueError(f"need slices >= 1 and a positive horizon, got {slices}, {horizon_us}")
    if not 0 <= jitter <= 0.5:
        raise ValueError(f"jitter must be within [0, 0.5] of a slice interval, got {jitter}")
    interval = horizon_us / slices
    rng = np.random.default_rng([seed, t0_us])
    offsets = rng.uniform(-jitter, jitter, size=slices) if jitter > 0 else np.zeros(slices)
    times = t0_us + (np.arange(slices) + offsets) * interval
    times = np.clip(np.floor(times), t0_us, t0_us + horizon_us - 1)
    return sorted(int(t) for t in times)


def split_units(units: float, slices: int, precision: int) -> list[float]:
    """``units`` in ``slices`` equal parts at ``precision`` decimals (toward zero), the
    remainder on the last part. The parts add up to ``units`` exactly (in units of
    ``10**-precision``)."""
    scale = 10**precision
    total = round(abs(units) * scale)
    each, rest = divmod(total, slices)
    counts = [each] * slices
    counts[-1] += rest
    return [math.copysign(c / scale, units) for c in counts]


def slice_count(units: float, slices: int, min_trade_size: float) -> int:
    """At most ``slices``, fewer if needed so each slice is at least ``min_trade_size``."""
    fit = math.floor(abs(units) / min_trade_size + 1e-9) if min_trade_size > 0 else slices
    return max(1, min(slices, fit))


class TwapAlgo(AlgoBase):
    """Bounded MARKET FOK slices on a jittered schedule, with a hard horizon."""

    name = "twap"

    def __init__(self, config: TwapConfig, **kw: Any) -> None:
        super().__init__(**kw)
        self.config = config
        self.schedule: list[int] = []
        self.sizes: list[float] = []
        self.refused = 0
        self._next = 0
        self._end_us = 0

    def _begin_work(self, tick: Tick) -> None:
        n = slice_count(self.units, self.config.slices, self.rules.min_trade_size)
        horizon = seconds_us(self.config.horizon_s)
        self.schedule = twap_schedule(tick.ts_us, horizon, n, self.config.jitter, self.config.seed)
        self.sizes = split_units(self.units, n, self.rules.trade_units_precision)
        self._end_us = tick.ts_us + horizon
        self._step(tick)

    def _step(self, tick: Tick) -> None:
        if tick.ts_us >= self._end_us:
            self._cancel_live(tick.ts_us, force=True)
            unsent = len(self.schedule) - self._next
            self._finish(f"horizon reached: {unsent} slice(s) not sent, {self.refused} refused")
            return
        while self._next < len(self.schedule) and self.schedule[self._next] <= tick.ts_us:
            if not tick.tradeable:
                self._note = f"slice {self._next + 1} due: waiting for a tradeable price"
                return
            i, size = self._next, self.sizes[self._next]
            self._next += 1
            self._unsent -= size
            if size == 0:
                continue
            fields = market_fields(tick, size, self.config.bound_bps, self.rules.display_precision)
            if self._send(size, seq=i + 1, **fields) is None:
                self.refused += 1
        self._note = f"{self._next} of {len(self.schedule)} slice(s) sent"
        if self._next == len(self.schedule):
            self._finish(f"all {len(self.schedule)} slice(s) sent, {self.refused} refused")

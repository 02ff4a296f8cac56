"""``best_limit``: rest a LIMIT order at our side's best price and follow the market.

A buy rests at the best bid, a sell at the best ask (GTC), so it earns the spread instead of
paying it. On each tick:

* filled -> done; partly filled -> the rest is what is worked from then on;
* the best moved away from our price by ``reprice_ticks`` pips or more (bid up for a buy, ask
  down for a sell), or ``reprice_s`` passed since placing and the best is no longer our price
  -> cancel, and once the cancel is final, place the rest at the new best;
* ``timeout_s`` after the start -> cancel the rest, then cross it with a bounded MARKET FOK
  (``on_timeout: market``) or leave it (``on_timeout: cancel``).

There is never more than one live order: a new one is placed only after the OMS shows the old
one closed (a fill that beat the cancel is counted, not re-bought). A refusal by risk or a
broker reject/cancel we did not ask for ends the algorithm with the rest left, no retry loop.
"""

from __future__ import annotations

from typing import Any

from tradewind.config.execution import BestLimitConfig
from tradewind.domain.orders import OrderRecord, OrderState
from tradewind.domain.ticks import Tick
from tradewind.oms.execution.base import AlgoBase
from tradewind.oms.execution.market import market_fields, outcome
from tradewind.oms.execution.prices import seconds_us


class BestLimitAlgo(AlgoBase):
    """A LIMIT order at the best price, re-priced, with a deadline."""

    name = "best_limit"

    def __init__(self, config: BestLimitConfig, **kw: Any) -> None:
        super().__init__(**kw)
        self.config = config
        self.reprices = 0
        self._current: str | None = None  # the live LIMIT order's client id
        self._price = 0.0
        self._placed_us = 0
        self._deadline_us = 0
        self._eps = self.pip * 1e-6

    @property
    def threshold(self) -> float:
        """How far (in price) the best must move away before we follow it."""
        return self.config.reprice_ticks * self.pip

    @property
    def working_units(self) -> float:
        """Before the end, everything not filled (on the book or about to be re-placed)."""
        if self._finished:
            return super().working_units
        return self._clean(self.units - self.filled_units - self._cut)

    def _begin_work(self, tick: Tick) -> None:
        self._deadline_us = tick.ts_us + seconds_us(self.config.timeout_s)
        self._step(tick)

    def _rest(self) -> float:
        """Units not filled yet (on the book or not), less what risk cut off."""
        return self.rules.round_units(self.units - self.filled_units - self._cut)

    def _step(self, tick: Tick) -> None:
        current = self._records.get(self._current) if self._current else None
        if current is not None and not current.open:
            self._current = None
            if self._closed_on_its_own(current):
                return
        if self._rest() == 0 and self._current is None:
            self._finish(f"filled after {self.reprices} re-price(s)")
            return
        if tick.ts_us >= self._deadline_us:
            self._timeout(tick, current if self._current else None)
            return
        if current is not None and current.open:
            if current.client_id in self._cancel_asked:  # waiting for our cancel
                self._cancel_live(tick.ts_us, retry_only=True)
                return
            if not tick.tradeable or not self._should_reprice(tick):
                return
            self.reprices += 1
            if self._cancel(current.client_id, tick.ts_us).open:
                self._note = "re-pricing: waiting for the cancel"
                return
            self._current = None
            if self._rest() == 0:
                self._finish(f"filled while re-pricing ({self.reprices} re-price(s))")
                return
        if tick.tradeable:
            self._place(tick)
        else:
            self._note = "waiting for a tradeable price"

    def _closed_on_its_own(self, record: OrderRecord) -> bool:
        """A REJECTED, or CANCELLED without our asking, order ends the algorithm."""
        asked = record.client_id in self._cancel_asked
        if record.state == OrderState.REJECTED or (
            record.state == OrderState.CANCELLED and not asked
        ):
            self._finish(f"limit order {outcome(record)}")
            return True
        return False

    def _should_reprice(self, tick: Tick) -> bool:
        best = tick.bid if self.units > 0 else tick.ask
        away = best - self._price if self.units > 0 else self._price - best
        if away >= self.threshold - self._eps:
            return True
        stale = tick.ts_us - self._placed_us >= seconds_us(self.config.reprice_s)
        return stale and abs(best - self._price) > self._eps

    def _place(self, tick: Tick) -> None:
        price = self.rules.round_price(tick.bid if self.units > 0 else tick.ask)
        rest = self._rest()
        record = self._send(rest, type="LIMIT", price=price, time_in_force="GTC")
        if record is None:
            self._finish("limit order refused by risk")
            return
        self._current, self._price, self._placed_us = record.client_id, price, tick.ts_us
        self._note = f"resting {rest:g} at {price:g}"
        if not record.open:  # filled at once (the market came to us), rejected or cancelled
            self._current = None
            if not self._closed_on_its_own(record) and self._rest() == 0:
                self._finish("filled on placing")

    def _timeout(self, tick: Tick, current: OrderRecord | None) -> None:
        if current is not None and current.open:
            if current.client_id in self._cancel_asked:
                self._cancel_live(tick.ts_us, retry_only=True)
            else:
                self._cancel(current.client_id, tick.ts_us)
            if self._records[current.client_id].open:
                self._note = "timed out: waiting for the cancel"
                return
            self._current = None
        rest = self._rest()
        if rest == 0:
            self._finish("filled at the deadline")
        elif self.config.on_timeout == "market":
            fields = market_fields(tick, rest, self.config.bound_bps, self.rules.display_precision)
            self._finish(f"timed out: crossed the rest, {outcome(self._send(rest, **fields))}")
        else:
            self._finish(f"timed out: {rest:g} left")

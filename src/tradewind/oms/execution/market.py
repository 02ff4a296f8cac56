"""``market``: the whole quantity at once, as one MARKET fill-or-kill order with a price bound.

The bound is ``bound_bps`` beyond the touch (ask for buys, bid for sells), rounded outward to
the instrument's display precision, so a fast market cannot fill us arbitrarily far away. If
the broker cancels the order (BOUNDS_VIOLATION, INSUFFICIENT_LIQUIDITY, MARKET_HALTED) or risk
refuses it, the units are left (``leftover_units``): the next decision decides again, nothing
here chases the price. ``market_fields`` is also how ``twap`` and ``best_limit`` cross.
"""

from __future__ import annotations

from typing import Any

from tradewind.config.execution import MarketConfig
from tradewind.domain.orders import OrderRecord, OrderState
from tradewind.domain.ticks import Tick
from tradewind.oms.execution.base import AlgoBase
from tradewind.oms.execution.prices import price_bound


def market_fields(tick: Tick, units: float, bound_bps: float, precision: int) -> dict[str, Any]:
    """The OrderIntent fields of a bounded MARKET FOK order for ``units`` at ``tick``."""
    return {
        "type": "MARKET",
        "time_in_force": "FOK",
        "price_bound": price_bound(tick, units, bound_bps, precision),
    }


def outcome(record: OrderRecord | None) -> str:
    """A child order's fate in a few words, for ``status``."""
    if record is None:
        return "refused by risk"
    if record.state == OrderState.FILLED:
        return f"filled at {record.avg_price:g}" if record.avg_price else "filled"
    if record.state in (OrderState.CANCELLED, OrderState.REJECTED):
        return f"{record.state.value} ({record.reject_reason or 'no reason given'})"
    return f"{record.state.value} (waiting for the outcome)"


class MarketAlgo(AlgoBase):
    """One bounded MARKET FOK order; done when the broker has answered it."""

    name = "market"

    def __init__(self, config: MarketConfig, **kw: Any) -> None:
        super().__init__(**kw)
        self.config = config

    def _begin_work(self, tick: Tick) -> None:
        fields = market_fields(
            tick, self.units, self.config.bound_bps, self.rules.display_precision
        )
        record = self._send(self.units, **fields)
        # FOK: the answer is final (or UNKNOWN until reconciliation resolves it)
        self._finish(outcome(record))

    def _describe(self) -> str:
        records = self.records
        return outcome(records[0]) if records else self._note

    def _step(self, tick: Tick) -> None:  # pragma: no cover - finished at start
        return

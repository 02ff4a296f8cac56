"""``stop``: enter only if the market breaks out, with an optional stop-loss on the trade.

One STOP order ``trigger_bps`` beyond the mid in the trade's direction (a buy stop above the
mid, a sell stop below it, rounded outward to the display precision), GTC (or GFD). With
``stop_loss_bps`` the order carries ``OrderIntent.stop_loss``: the broker attaches a
STOP_LOSS order to the trade the fill opens, ``stop_loss_bps`` beyond the trigger price on the
losing side (the fill price is not known when the order is sent; the trigger price is its
best estimate, and a gap makes the real distance a little smaller or larger).

A stop-loss on a position that is already open needs no algorithm of its own: any entry order
can carry ``OrderIntent.stop_loss`` (``market`` and ``best_limit`` entries through their
intents), and the broker keeps it with the trade. The algorithm is done when the order is
filled, cancelled or rejected; ``cancel()`` withdraws it. It has no deadline: GTC means the
trader decides when to give up (a new decision cancels the working algorithm).
"""

from __future__ import annotations

from typing import Any

from tradewind.config.execution import StopConfig
from tradewind.domain.ticks import Tick
from tradewind.oms.execution.base import AlgoBase
from tradewind.oms.execution.market import outcome
from tradewind.oms.execution.prices import away


def stop_prices(
    mid: float, units: float, trigger_bps: float, stop_loss_bps: float | None, precision: int
) -> tuple[float, float | None]:
    """(trigger, stop-loss) for an entry of ``units`` at ``mid``: the trigger beyond the mid in
    the trade's direction, the stop-loss beyond the trigger against it; both rounded outward."""
    trigger = away(mid, units, trigger_bps, precision)
    if stop_loss_bps is None:
        return trigger, None
    return trigger, away(trigger, -units, stop_loss_bps, precision)


class StopAlgo(AlgoBase):
    """One STOP entry order; done when it is filled, cancelled or rejected."""

    name = "stop"

    def __init__(self, config: StopConfig, **kw: Any) -> None:
        super().__init__(**kw)
        self.config = config
        self.trigger: float | None = None
        self.stop_loss: float | None = None

    def _begin_work(self, tick: Tick) -> None:
        self.trigger, self.stop_loss = stop_prices(
            tick.mid,
            self.units,
            self.config.trigger_bps,
            self.config.stop_loss_bps,
            self.rules.display_precision,
        )
        record = self._send(
            self.units,
            type="STOP",
            price=self.trigger,
            time_in_force=self.config.time_in_force,
            stop_loss=self.stop_loss,
        )
        # nothing more to send: done once the order is final
        self._finish(f"stop at {self.trigger:g}" if record is not None else outcome(None))

    def _describe(self) -> str:
        records = self.records
        if not records:
            return self._note
        record = records[0]
        if record.open:
            return f"stop {self.units:g} at {self.trigger:g} {record.state.value}"
        return f"stop at {self.trigger:g} {outcome(record)}"

    def _step(self, tick: Tick) -> None:  # pragma: no cover - finished at start
        return

"""Position state as a model sees it, and the position arithmetic the backtests use.

``PositionBook.update`` is Backtrader's ``Position.update`` average-price rule, so the
environment's entry price (and so its unrealised P&L) is the backtest's to the bit: adding to
a position averages the price, reducing keeps it, flipping or opening takes the fill price,
closing resets it to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.policy.contract import ActionMap

AT_TARGET = 1e-9  # relative to max(1, max_units): a smaller change is "at target" (no trade)


@dataclass(slots=True)
class PositionBook:
    units: float = 0.0
    price: float = 0.0  # average entry price (fill prices, costs included); 0 when flat

    def update(self, size: float, price: float) -> None:
        old = self.units
        self.units = old + size
        if not self.units:
            self.price = 0.0
        elif not old:
            self.price = price
        elif old > 0:
            if size > 0:
                self.price = (self.price * old + size * price) / self.units
            elif self.units < 0:
                self.price = price
        else:
            if size < 0:
                self.price = (self.price * old + size * price) / self.units
            elif self.units > 0:
                self.price = price


def next_bars_held(prev_units: float, units: float, bars_held: int) -> int:
    """Bars the position has been held at this decision, given the units at the previous
    decision: 0 when flat, 1 for a position opened or flipped since, else one more."""
    if not units:
        return 0
    if not prev_units or (prev_units > 0) != (units > 0):
        return 1
    return bars_held + 1


def position_state(
    units: float,
    avg_price: float,
    close: float,
    bars_held: int,
    max_units: float,
    time_scale: float,
) -> tuple[float, float, float]:
    """``(position, unrealised_pnl, time_in_position)``: units over ``max_units``; the open
    position's P&L at ``close`` over the notional of ``max_units`` at the entry price; bars
    held over ``time_scale``, capped at 1."""
    pos = units / max_units
    upnl = units * (close - avg_price) / (max_units * avg_price) if units and avg_price > 0 else 0.0
    held = min(bars_held / time_scale, 1.0)
    return pos, upnl, held


def action_mask(
    actions: ActionMap, units: float, max_units: float, since_change: int, min_hold: int
) -> npt.NDArray[np.bool_]:
    """Which actions a model may take now (the environment's ``action_masks``, for every
    caller): all of them unless the position changed fewer than ``min_hold`` decisions ago
    (``since_change``); then only those that keep ``units``. A continuous action space gets
    one flag: whether the position may change."""
    free = since_change >= min_hold
    if actions.kind != "discrete":
        return np.array([free])
    n = len(actions.targets)
    if free:
        return np.ones(n, dtype=bool)
    target_units = np.asarray(actions.targets, dtype=np.float64) * max_units
    keep = np.abs(target_units - units) <= AT_TARGET * max(1.0, max_units)
    if not keep.any():  # no action keeps an off-grid position: all are equal
        return np.ones(n, dtype=bool)
    return keep

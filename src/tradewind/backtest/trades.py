"""Round trips from fills, engine-neutral: the Backtrader runner builds its trades here, the
vectorised engine with ``vector._round_trips``, the same rules in arrays (to the bit).

A trade opens when an instrument's position leaves zero and closes when it returns to zero; a
fill that reverses the position closes one trade and opens the next at the same price, its
commission split between them by units. Adding to a position averages the entry price; a
partial reduction closes a trade for the units reduced. A position still open at the end gives
a trade with ``closed=False``, marked to the last close. MAE/MFE are the extremes of the bars'
lows and highs from the entry bar to the exit bar (both included) against the entry price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tradewind.backtest.result import Fill, Trade
from tradewind.domain.series import BarSeries


@dataclass
class _Open:
    units: float
    price: float
    commission: float
    ts: int
    index: int


def _excursions(bars: BarSeries, i: int, j: int, units: float, entry: float) -> tuple[float, float]:
    lo = float(np.min(bars.low[i : j + 1]))
    hi = float(np.max(bars.high[i : j + 1]))
    if units > 0:
        return min(0.0, lo - entry), max(0.0, hi - entry)
    return min(0.0, entry - hi), max(0.0, entry - lo)


def _close(
    o: _Open,
    units: float,
    exit_price: float | None,
    exit_commission: float,
    exit_ts: int | None,
    exit_index: int,
    bars: BarSeries,
    symbol: str,
    strategy: str,
) -> Trade:
    share = abs(units) / abs(o.units)
    entry_comm = o.commission * share
    price = exit_price if exit_price is not None else float(bars.close[exit_index])
    commission = entry_comm + exit_commission
    mae, mfe = _excursions(bars, o.index, exit_index, units, o.price)
    return Trade(
        instrument=symbol,
        strategy=strategy,
        entry_ts_us=o.ts,
        exit_ts_us=exit_ts,
        units=units,
        entry_price=o.price,
        exit_price=exit_price,
        pnl=units * (price - o.price) - commission,
        commission=commission,
        bars_held=exit_index - o.index,
        mae=mae,
        mfe=mfe,
        closed=exit_price is not None,
    )


def trades_from_fills(
    fills: Sequence[Fill], bars: Mapping[str, BarSeries], strategy: str
) -> list[Trade]:
    """Trades of every instrument, in the order they closed (open ones last)."""
    out: list[Trade] = []
    state: dict[str, _Open | None] = {}
    for f in fills:
        b = bars[f.instrument]
        idx = int(np.searchsorted(b.ts, f.ts_us))
        o = state.get(f.instrument)
        u = f.units
        if o is None:
            state[f.instrument] = _Open(u, f.price, f.commission, f.ts_us, idx)
            continue
        if (u > 0) == (o.units > 0):  # adding: average the entry
            total = abs(o.units) + abs(u)
            o.price = (o.price * abs(o.units) + f.price * abs(u)) / total
            o.units += u
            o.commission += f.commission
            continue
        q = min(abs(u), abs(o.units))
        closed_units = q if o.units > 0 else -q
        out.append(
            _close(
                o,
                closed_units,
                f.price,
                f.commission * q / abs(u),
                f.ts_us,
                idx,
                b,
                f.instrument,
                strategy,
            )
        )
        rest_old = abs(o.units) - q
        rest_new = abs(u) - q
        if rest_old > 0:
            o.commission -= o.commission * q / abs(o.units)
            o.units = rest_old if o.units > 0 else -rest_old
        elif rest_new > 0:
            sign = 1.0 if u > 0 else -1.0
            state[f.instrument] = _Open(
                sign * rest_new, f.price, f.commission * rest_new / abs(u), f.ts_us, idx
            )
        else:
            state[f.instrument] = None
    for symbol, o in state.items():
        if o is not None:
            b = bars[symbol]
            out.append(_close(o, o.units, None, 0.0, None, len(b) - 1, b, symbol, strategy))
    return out

"""Trades from fills, engine-neutral: the one definition of a trade every count, table, chart
and metric uses. The Backtrader runner builds its trades here, the vectorised engine with
``vector._round_trips``, the same rules in arrays (to the bit); ``count_round_trips`` counts
them on a position path (the RL rollout's).

What a trade is
---------------
* A trade opens when an instrument's position leaves zero and ends when it returns to zero.
  A fill that reverses the position ends one trade and opens the next at the same price, its
  commission split between them by units.
* Adding to a position and reducing it without reaching zero stay inside the trade: adding
  averages the entry price (Backtrader's rule), a partial reduction realises P&L on the units
  reduced against that average. ``units`` is the largest position the trade held (signed),
  ``exit_price`` the units-weighted average of its reducing fills, ``pnl`` everything it
  realised net of every commission it paid.
* A position still open after the last bar is a trade too (``closed=False``,
  ``exit_reason='end_of_data'``): it is marked to the last close (its P&L is what the equity
  curve shows at the end) and counted like every other trade, so a buy-and-hold has one
  trade everywhere. It has no exit fill: ``exit_ts_us`` and ``exit_price`` are None.

Exit reasons
------------
The kind of the order whose fill ended the trade: ``signal`` (a market or at-close order the
strategy placed), ``stop`` (a stop or stop-limit order), ``limit`` (a limit order, e.g. a
take-profit), or ``end_of_data``.

MAE/MFE
-------
The worst and best price the trade saw while it was held, against its average entry price,
in price units (``mae <= 0 <= mfe``): the prices of its own fills, and the high and low of
every bar it held in full. A bar is held in full between the entry and the exit bar; the entry
bar too when the entry filled at its open, the exit bar too when the exit filled at its close
(or the trade was still open after it). A bar a stop or limit order filled on is held only up
to that fill, so of it only the fill price counts. ``Trade.mae_pips``/``mfe_pips`` give them
in pips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.backtest.result import EXIT_END_OF_DATA, Fill, Trade
from tradewind.domain.series import BarSeries

# When a fill happens within its bar, by the kind of its order.
AT_OPEN, AT_CLOSE, INTRABAR = 0, 1, 2
_TIMING = {"market": AT_OPEN, "close": AT_CLOSE}
_REASONS = {
    "market": "signal",
    "close": "signal",
    "stop": "stop",
    "stop_limit": "stop",
    "limit": "limit",
}

__all__ = [
    "AT_CLOSE",
    "AT_OPEN",
    "INTRABAR",
    "count_round_trips",
    "count_trades",
    "exit_reason",
    "fill_timing",
    "trades_from_fills",
]


def fill_timing(order_kind: str) -> int:
    """``AT_OPEN`` (market), ``AT_CLOSE`` (close) or ``INTRABAR`` (stop, limit, stop_limit)."""
    return _TIMING.get(order_kind, INTRABAR)


def exit_reason(order_kind: str) -> str:
    """The exit reason of a trade ended by a fill of an order of ``order_kind``."""
    return _REASONS.get(order_kind, order_kind)


def count_trades(trades: Sequence[Trade]) -> int:
    """How many trades a result has: every one, a trade still open at the end included."""
    return len(trades)


def count_round_trips(units: npt.ArrayLike) -> int:
    """The trades ``trades_from_fills`` gives for a position path (units after each bar, the
    first value the starting position): each time the position leaves zero or reverses opens
    a trade, partial changes of size do not; a position held at the end is a trade."""
    s = np.sign(np.asarray(units, dtype=np.float64))
    if s.size == 0:
        return 0
    opened = (s[1:] != 0) & (s[1:] != s[:-1])
    return int(np.count_nonzero(opened)) + int(s[0] != 0)


@dataclass
class _Open:
    units: float  # signed, current
    price: float  # average entry
    ts: int
    index: int
    full_from: int  # first bar held in full
    peak: float  # largest |units|
    commission: float  # paid so far (entries, and the shares of reducing fills)
    realised: float  # gross P&L realised by reductions so far
    exit_units: float  # |units| reduced so far
    exit_price: float  # their average price
    lo: float  # extremes of the trade's own fill prices
    hi: float


def _new(units: float, price: float, commission: float, ts: int, idx: int, at: int) -> _Open:
    full_from = idx if at == AT_OPEN else idx + 1
    return _Open(
        units=units,
        price=price,
        ts=ts,
        index=idx,
        full_from=full_from,
        peak=abs(units),
        commission=commission,
        realised=0.0,
        exit_units=0.0,
        exit_price=0.0,
        lo=price,
        hi=price,
    )


def _reduce(o: _Open, q: float, price: float, commission: float) -> None:
    """Realise ``q`` units (``0 < q <= |o.units|``) at ``price``, paying ``commission``."""
    sign = 1.0 if o.units > 0 else -1.0
    o.realised += sign * q * (price - o.price)
    o.commission += commission
    if o.exit_units == 0.0:
        o.exit_price = price
    else:
        o.exit_price = (o.exit_price * o.exit_units + price * q) / (o.exit_units + q)
    o.exit_units += q
    o.lo = min(o.lo, price)
    o.hi = max(o.hi, price)


def _end(
    o: _Open,
    bars: BarSeries,
    exit_index: int,
    full_to: int,
    exit_ts: int | None,
    reason: str,
    symbol: str,
    strategy: str,
) -> Trade:
    lo, hi = o.lo, o.hi
    if full_to >= o.full_from:
        lo = min(lo, float(np.min(bars.low[o.full_from : full_to + 1])))
        hi = max(hi, float(np.max(bars.high[o.full_from : full_to + 1])))
    sign = 1.0 if o.units > 0 else -1.0
    if sign > 0:
        mae, mfe = min(0.0, lo - o.price), max(0.0, hi - o.price)
    else:
        mae, mfe = min(0.0, o.price - hi), max(0.0, o.price - lo)
    closed = exit_ts is not None
    return Trade(
        instrument=symbol,
        strategy=strategy,
        entry_ts_us=o.ts,
        exit_ts_us=exit_ts,
        units=sign * o.peak,
        entry_price=o.price,
        exit_price=o.exit_price if closed else None,
        pnl=o.realised - o.commission,
        commission=o.commission,
        bars_held=exit_index - o.index,
        mae=mae,
        mfe=mfe,
        closed=closed,
        exit_reason=reason,
    )


def trades_from_fills(
    fills: Sequence[Fill],
    bars: Mapping[str, BarSeries],
    strategy: str,
    order_kinds: Mapping[int, str] | None = None,
) -> list[Trade]:
    """Trades of every instrument, in the order they ended (open ones last).

    ``order_kinds`` maps a fill's ``order_ref`` to its order's kind (``Order.kind``: when in
    its bar it filled, and the exit reason); a fill of an unknown order is a market order."""
    kinds = order_kinds or {}
    out: list[Trade] = []
    state: dict[str, _Open | None] = {}
    for f in fills:
        b = bars[f.instrument]
        idx = int(np.searchsorted(b.ts, f.ts_us))
        kind = kinds.get(f.order_ref, "market")
        at = fill_timing(kind)
        o = state.get(f.instrument)
        u = f.units
        if o is None:
            state[f.instrument] = _new(u, f.price, f.commission, f.ts_us, idx, at)
            continue
        if (u > 0) == (o.units > 0):  # adding: average the entry
            total = abs(o.units) + abs(u)
            o.price = (o.price * abs(o.units) + f.price * abs(u)) / total
            o.units += u
            o.commission += f.commission
            o.peak = max(o.peak, abs(o.units))
            o.lo = min(o.lo, f.price)
            o.hi = max(o.hi, f.price)
            continue
        au, aou = abs(u), abs(o.units)
        q = min(au, aou)
        _reduce(o, q, f.price, f.commission * q / au)
        if q < aou:  # a partial reduction: the trade goes on
            o.units = aou - q if o.units > 0 else -(aou - q)
            continue
        full_to = idx if at == AT_CLOSE else idx - 1
        out.append(_end(o, b, idx, full_to, f.ts_us, exit_reason(kind), f.instrument, strategy))
        rest = au - q
        state[f.instrument] = (
            _new(rest if u > 0 else -rest, f.price, f.commission * rest / au, f.ts_us, idx, at)
            if rest > 0
            else None
        )
    for symbol, o in state.items():
        if o is not None:
            b = bars[symbol]
            last = len(b) - 1
            o.realised += o.units * (float(b.close[last]) - o.price)
            out.append(_end(o, b, last, last, None, EXIT_END_OF_DATA, symbol, strategy))
    return out

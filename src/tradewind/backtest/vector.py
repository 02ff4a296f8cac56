"""A vectorised engine for signal-based strategies: numpy, with a numba loop for positions.

Input: per instrument a target position per bar in signal units (+1 long, 0 flat, -1 short;
fractions allowed), decided on bar t's close. When the target differs from the position, the
difference is traded at bar t+1's open (``next_open``) or close (``next_close``); a NaN target
keeps the position. Units are the signal times ``sizing.value`` (``fixed_units`` only); each
order is rounded toward zero to the instrument's unit precision and one that rounds to nothing
is not sent (``backtest.units``: the Backtrader broker's and the live path's rule). Costs
are the shared ``CostModel`` (the Backtrader runner's arithmetic, to the bit): half spread and
slippage against the trader on every fill, commission per unit + bps on the executed price;
financing at each rollover as ``backtest.financing`` defines it (on bar t, before its fills, on
the position after bar t-1 at bar t-1's close), the same arithmetic as the runner's broker.
No cash check: orders are never refused (the Backtrader broker refuses an order the cash cannot
pay for, so the engines differ only in that case). Same ``BacktestResult`` as the runner, its
fills and trades as ``backtest.columns`` (arrays; the ``Fill``/``Trade`` objects are built only
when something reads them: metrics read the arrays).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from tradewind.backtest.columns import FillColumns, TradeColumns
from tradewind.backtest.costs import DEFAULT_PIP_LOCATION, cost_model
from tradewind.backtest.financing import year_fractions
from tradewind.backtest.result import BacktestResult, Order
from tradewind.backtest.trades import AT_CLOSE, AT_OPEN
from tradewind.backtest.units import precision_code, round_order
from tradewind.config.backtest import BacktestConfig, FillTiming, SizingMethod
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]


def sma_crossover_signals(sma_fast: F64, sma_slow: F64, allow_short: bool = False) -> F64:
    """Target signal per bar, as ``strategies/sma_crossover.py`` decides it.

    Cross above at t: ``fast[t] > slow[t]`` and ``fast[t-1] <= slow[t-1]`` → +1; cross below
    mirrors it → -1 with ``allow_short``, else 0; otherwise the last target holds (0 before the
    first cross). A NaN on either bar is no cross, so warm-up gives 0.
    """
    f = np.ascontiguousarray(sma_fast, dtype=np.float64)
    s = np.ascontiguousarray(sma_slow, dtype=np.float64)
    if len(f) != len(s):
        raise ValueError(f"{len(f)} fast values for {len(s)} slow ones")
    return _crossover(f, s, -1.0 if allow_short else 0.0)


@numba.njit(cache=True)
def _crossover(f: F64, s: F64, down: float) -> F64:
    out = np.empty(len(f))
    last = 0.0
    for t in range(len(f)):
        if t > 0:
            if f[t] > s[t] and f[t - 1] <= s[t - 1]:
                last = 1.0
            elif f[t] < s[t] and f[t - 1] >= s[t - 1]:
                last = down
        out[t] = last
    return out


@numba.njit(cache=True)
def _simulate(
    open_: F64,
    close: F64,
    target: F64,
    at_close: bool,
    half: float,
    slip: float,
    per_unit: float,
    bps: float,
    precision: int,
    years: F64,
    long_rate: float,
    short_rate: float,
    equity: F64,
    gross: F64,
) -> tuple[npt.NDArray[np.int64], F64, F64, F64, F64]:
    """One instrument's positions: adds its cash change from trading and financing plus its
    position's value to ``equity`` and ``|position| * close`` to ``gross``, bar by bar, in
    place; returns its fills (bar, units, price, commission) and every non-zero financing
    charge (``financing.charge``, to the bit) in bar order."""
    n = len(close)
    fin = np.empty(n)
    nf = 0
    f_idx = np.empty(n, np.int64)
    f_units = np.empty(n)
    f_price = np.empty(n)
    f_comm = np.empty(n)
    k = 0
    p = 0.0
    c = 0.0
    for t in range(n):
        if t > 0 and p != 0.0 and years[t] > 0.0:
            rate = long_rate if p > 0 else short_rate
            f = abs(p) * close[t - 1] * years[t] * rate
            if f != 0.0:
                c -= f
                fin[nf] = f
                nf += 1
        if t > 0:
            tgt = target[t - 1]
            d = 0.0
            if not np.isnan(tgt) and tgt != p:
                # at the unit precision (toward zero) the position is p + d, as a broker keeps
                # it; an order that rounds to nothing is not sent
                d = tgt - p if precision < 0 else round_order(tgt - p, precision)
            if d != 0.0:
                raw = close[t] if at_close else open_[t]
                price = raw + raw * slip + half if d > 0 else raw - raw * slip - half
                size = abs(d)
                comm = size * per_unit + size * price * bps
                c -= d * price + comm
                p = tgt if precision < 0 else p + d
                f_idx[k] = t
                f_units[k] = d
                f_price[k] = price
                f_comm[k] = comm
                k += 1
        equity[t] += c + p * close[t]
        gross[t] += abs(p) * close[t]
    # copies: slices would keep the n-long buffers alive with the result
    return (
        f_idx[:k].copy(),
        f_units[:k].copy(),
        f_price[:k].copy(),
        f_comm[:k].copy(),
        fin[:nf].copy(),
    )


@numba.njit(cache=True)
def _exposure(equity: F64, gross: F64) -> None:
    """In place: ``gross`` becomes ``gross / equity``, NaN where equity is 0."""
    for t in range(len(equity)):
        gross[t] = gross[t] / equity[t] if equity[t] != 0 else np.nan


@numba.njit(cache=True)
def _round_trips(  # noqa: C901  numba kernel: one pass over the fills; split later
    f_bar: npt.NDArray[np.int64],
    f_idx: npt.NDArray[np.int64],
    f_units: F64,
    f_price: F64,
    f_comm: F64,
    low: F64,
    high: F64,
    close: F64,
    at: int,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    F64,
    F64,
    F64,
    F64,
    F64,
    F64,
    F64,
]:
    """``trades.trades_from_fills`` for one instrument's fills, as arrays, to the bit.

    ``f_bar`` is the bar a fill happened on (for its time), ``f_idx`` its index as
    ``trades_from_fills`` finds it (``searchsorted`` on the bar times); every fill is at the
    bar's open (``at`` = ``trades.AT_OPEN``) or close (``AT_CLOSE``). Per trade: the entry
    fill's bar, the entry and exit indexes, the fill that ended it (-1: still open), units
    (the largest held), entry and exit price (NaN: open), pnl, commission, MAE and MFE.
    """
    m = len(f_units)
    n = len(close)
    cap = m + 1
    t_entry_bar = np.empty(cap, np.int64)
    t_entry = np.empty(cap, np.int64)
    t_exit = np.empty(cap, np.int64)
    t_fill = np.empty(cap, np.int64)
    t_units = np.empty(cap)
    t_entry_px = np.empty(cap)
    t_exit_px = np.empty(cap)
    t_pnl = np.empty(cap)
    t_comm = np.empty(cap)
    t_mae = np.empty(cap)
    t_mfe = np.empty(cap)
    have = False
    ou = 0.0  # units
    op = 0.0  # average entry
    oc = 0.0  # commission paid
    obar = 0
    oi = 0
    ofull = 0  # first bar held in full
    opeak = 0.0
    oreal = 0.0  # realised gross P&L
    oxu = 0.0  # units reduced
    oxp = 0.0  # their average price
    olo = 0.0
    ohi = 0.0
    j = 0
    for k in range(m + 1):
        if k < m:
            u = f_units[k]
            px = f_price[k]
            if not have:
                ou, op, oc, obar, oi = u, px, f_comm[k], f_bar[k], f_idx[k]
                ofull = oi if at == 0 else oi + 1
                opeak, oreal, oxu, oxp, olo, ohi = abs(u), 0.0, 0.0, 0.0, px, px
                have = True
                continue
            if (u > 0) == (ou > 0):  # adding: average the entry
                total = abs(ou) + abs(u)
                op = (op * abs(ou) + px * abs(u)) / total
                ou += u
                oc += f_comm[k]
                if abs(ou) > opeak:
                    opeak = abs(ou)
                if px < olo:
                    olo = px
                if px > ohi:
                    ohi = px
                continue
            au = abs(u)
            aou = abs(ou)
            q = au if au < aou else aou
            sign = 1.0 if ou > 0 else -1.0
            oreal += sign * q * (px - op)
            oc += f_comm[k] * q / au
            oxp = px if oxu == 0.0 else (oxp * oxu + px * q) / (oxu + q)
            oxu += q
            if px < olo:
                olo = px
            if px > ohi:
                ohi = px
            if q < aou:  # a partial reduction: the trade goes on
                ou = aou - q if ou > 0 else -(aou - q)
                continue
            exit_i = f_idx[k]
            full_to = exit_i if at == 1 else exit_i - 1
            t_exit_px[j] = oxp
            t_fill[j] = k
        else:
            if not have:
                break
            exit_i = n - 1
            full_to = n - 1
            oreal += ou * (close[exit_i] - op)
            t_exit_px[j] = np.nan
            t_fill[j] = -1
        lo = olo
        hi = ohi
        if full_to >= ofull:
            blo = low[ofull]
            bhi = high[ofull]
            for i in range(ofull + 1, full_to + 1):
                v = low[i]
                if v < blo or v != v:
                    blo = v
                v = high[i]
                if v > bhi or v != v:
                    bhi = v
            if blo < lo:
                lo = blo
            if bhi > hi:
                hi = bhi
        sign = 1.0 if ou > 0 else -1.0
        if sign > 0:
            adverse = lo - op
            favourable = hi - op
        else:
            adverse = op - hi
            favourable = op - lo
        t_entry_bar[j] = obar
        t_entry[j] = oi
        t_exit[j] = exit_i
        t_units[j] = sign * opeak
        t_entry_px[j] = op
        t_pnl[j] = oreal - oc
        t_comm[j] = oc
        t_mae[j] = adverse if adverse < 0.0 else 0.0
        t_mfe[j] = favourable if favourable > 0.0 else 0.0
        j += 1
        if k == m:
            break
        rest = au - q
        if rest > 0:
            ou = rest if u > 0 else -rest
            op, oc, obar, oi = px, f_comm[k] * rest / au, f_bar[k], f_idx[k]
            ofull = oi if at == 0 else oi + 1
            opeak, oreal, oxu, oxp, olo, ohi = rest, 0.0, 0.0, 0.0, px, px
        else:
            have = False
    return (
        t_entry_bar[:j],
        t_entry[:j],
        t_exit[:j],
        t_fill[:j],
        t_units[:j],
        t_entry_px[:j],
        t_exit_px[:j],
        t_pnl[:j],
        t_comm[:j],
        t_mae[:j],
        t_mfe[:j],
    )


def run_vector(
    bars: Mapping[str, BarSeries],
    signals: Mapping[str, F64],
    cfg: BacktestConfig,
    strategy_name: str,
    params: Mapping[str, Any] | None = None,
    pip_locations: Mapping[str, int] | None = None,
    orders: bool = False,
    units_precision: Mapping[str, int] | None = None,
) -> BacktestResult:
    """Simulate ``signals`` (per instrument, aligned with its bars; all on one time grid).
    ``pip_locations`` and ``units_precision`` are the instruments' (``instrument_terms``):
    fixed spreads are in their pips, orders at their unit precision (a symbol without one
    is not rounded).

    With ``orders=True`` the result also lists the orders (one market order per fill, decided
    a bar earlier). Sweeps and walk-forward only score results, so they leave it off; stored
    runs come from the Backtrader runner, which records the orders it really placed.
    """
    if cfg.sizing.method is not SizingMethod.FIXED_UNITS:
        raise Unsupported(
            f"the vectorised engine sizes fixed_units only, not {cfg.sizing.method.value!r}"
        )
    symbols = tuple(bars)
    ts = bars[symbols[0]].ts
    for s in symbols:
        if s != symbols[0] and not np.array_equal(bars[s].ts, ts):
            raise ValueError(f"{s}: bars are not on the same time grid as {symbols[0]}")
        if len(signals[s]) != len(ts):
            raise ValueError(f"{s}: {len(signals[s])} signals for {len(ts)} bars")
    pips = pip_locations or {}
    precisions = units_precision or {}
    at_close = cfg.fill is FillTiming.NEXT_CLOSE
    n = len(ts)
    equity = np.full(n, cfg.cash)
    gross = np.zeros(n)
    per_symbol: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    years = year_fractions(ts) if cfg.costs.financing else np.zeros(n)
    charges: list[F64] = []
    for s in symbols:
        b, m = bars[s], cost_model(cfg.costs, pips.get(s, DEFAULT_PIP_LOCATION))
        target = np.asarray(signals[s], dtype=np.float64) * cfg.sizing.value
        close = np.asarray(b.close, dtype=np.float64)
        fi, fu, fp, fc, fin = _simulate(
            np.asarray(b.open, dtype=np.float64),
            close,
            target,
            at_close,
            m.half_spread,
            m.slip_frac,
            m.per_unit,
            m.bps_frac,
            precision_code(precisions.get(s)),
            years,
            m.financing_long,
            m.financing_short,
            equity,
            gross,
        )
        charges.append(fin)
        # the bar index as trades_from_fills looks it up: the first bar with the fill's time
        idx = np.searchsorted(b.ts, ts[fi]).astype(np.int64)
        low = np.asarray(b.low, dtype=np.float64)
        high = np.asarray(b.high, dtype=np.float64)
        raw = np.asarray(b.close if at_close else b.open, dtype=np.float64)[fi]
        frictions = (np.abs(fu) * m.half_spread, np.abs(fu) * (raw * m.slip_frac))
        rt = _round_trips(fi, idx, fu, fp, fc, low, high, close, AT_CLOSE if at_close else AT_OPEN)
        per_symbol.append(((fi, fu, fp, fc, *frictions), rt))
    fills, trades = _columns(per_symbol, symbols, ts, strategy_name)
    _exposure(equity, gross)
    ts_us = ts.view()
    ts_us.flags.writeable = False  # shared with the bars, not copied
    return BacktestResult(
        strategy=strategy_name,
        params=dict(params or {}),
        instruments=symbols,
        ts_us=ts_us,
        equity=equity,
        exposure=gross,
        fills=fills,
        trades=trades,
        orders=_orders_from_fills(fills, ts, cfg) if orders else [],
        financing=total_financing(charges),
    )


def total_financing(charges: list[F64]) -> float:
    """The exactly rounded sum (``math.fsum``: independent of order) of per-bar charges."""
    if not charges:
        return 0.0
    every = np.concatenate(charges)
    return math.fsum(every[every != 0.0].tolist()) if len(every) else 0.0


def _orders_from_fills(
    fills: FillColumns, ts: npt.NDArray[np.int64], cfg: BacktestConfig
) -> list[Order]:
    """Every order of the vectorised engine is a market order decided one bar before it filled."""
    if not fills:
        return []
    at = np.searchsorted(ts, fills.ts_us)
    decided = ts[np.maximum(at - 1, 0)].tolist()
    kind = "close" if cfg.fill == FillTiming.NEXT_CLOSE else "market"
    return [
        Order(
            f.order_ref,
            f.instrument,
            f.strategy,
            kind,
            f.units,
            None,
            None,
            d,
            f.ts_us,
            "completed",
            f.units,
        )
        for f, d in zip(fills, decided, strict=True)
    ]


def _columns(
    per_symbol: list[tuple[tuple[Any, ...], tuple[Any, ...]]],
    names: tuple[str, ...],
    ts: npt.NDArray[np.int64],
    strategy: str,
) -> tuple[FillColumns, TradeColumns]:
    """Fills in time order (instruments in input order on one bar), refs from 1; trades in the
    order ``trades_from_fills`` gives them: by closing fill, open ones last in the order their
    instrument first traded."""
    n_fills = [len(f[0]) for f, _ in per_symbol]
    offsets = np.concatenate(([0], np.cumsum(n_fills))).astype(np.int64)
    f_bar = np.concatenate([f[0] for f, _ in per_symbol]).astype(np.int64)
    f_sym = np.repeat(np.arange(len(per_symbol)), n_fills)
    one = len(per_symbol) == 1
    order = np.arange(len(f_bar)) if one else np.argsort(f_bar, kind="stable")

    def fill_col(c: int) -> Any:
        if one:
            return per_symbol[0][0][c]
        return np.concatenate([f[c] for f, _ in per_symbol])[order]

    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    fills = FillColumns(
        ts[f_bar[order]],
        f_sym[order],
        names,
        strategy,
        fill_col(1),
        fill_col(2),
        fill_col(3),
        fill_col(4),
        fill_col(5),
    )
    keys = []
    for j, (_, rt) in enumerate(per_symbol):
        t_fill = rt[3]
        first = rank[offsets[j]] if n_fills[j] else 0
        keys.append(
            np.where(t_fill >= 0, rank[offsets[j] + np.maximum(t_fill, 0)], len(order) + first)
        )
    t_key = np.concatenate(keys) if keys else np.empty(0, np.int64)
    t_order = np.argsort(t_key, kind="stable")
    col = [np.concatenate([rt[c] for _, rt in per_symbol])[t_order] for c in range(11)]
    entry_bar, entry_i, exit_i, t_fill, units, entry_px, exit_px, pnl, comm, mae, mfe = col
    t_sym = np.repeat(np.arange(len(per_symbol)), [len(rt[0]) for _, rt in per_symbol])[t_order]
    closed = t_fill >= 0
    closing_bar = f_bar[offsets[t_sym] + np.maximum(t_fill, 0)] if len(f_bar) else t_fill
    trades = TradeColumns(
        t_sym,
        names,
        strategy,
        ts[entry_bar],
        ts[closing_bar] if len(closing_bar) else np.empty(0, np.int64),
        units,
        entry_px,
        exit_px,
        pnl,
        comm,
        exit_i - entry_i,
        mae,
        mfe,
        closed,
    )
    return fills, trades

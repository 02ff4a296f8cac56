"""A vectorised engine for signal-based strategies: numpy, with a numba loop for positions.

Input: per instrument a target position per bar in signal units (+1 long, 0 flat, -1 short;
fractions allowed), decided on bar t's close. When the target differs from the position, the
difference is traded at bar t+1's open (``next_open``) or close (``next_close``); a NaN target
keeps the position. Units are the signal times ``sizing.value`` (``fixed_units`` only). Costs
are the shared ``CostModel`` (the Backtrader runner's arithmetic, to the bit): half spread and
slippage against the trader on every fill, commission per unit + bps on the executed price.
No cash check: orders are never refused (the Backtrader broker refuses an order the cash cannot
pay for, so the engines differ only in that case). Same ``BacktestResult`` as the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from tradewind.backtest.costs import DEFAULT_PIP_LOCATION, cost_model
from tradewind.backtest.result import BacktestResult, Fill
from tradewind.backtest.trades import trades_from_fills
from tradewind.config.backtest import BacktestConfig, FillTiming, SizingMethod
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]


def sma_crossover_signals(sma_fast: F64, sma_slow: F64, allow_short: bool = False) -> F64:
    """Target signal per bar, as ``strategies/sma_crossover.py`` decides it.

    Cross above at t: ``fast[t] > slow[t]`` and ``fast[t-1] <= slow[t-1]`` → +1; cross below
    mirrors it → -1 with ``allow_short``, else 0; otherwise the last target holds (0 before the
    first cross). A NaN on either bar is no cross, so warm-up gives 0.
    """
    f = np.asarray(sma_fast, dtype=np.float64)
    s = np.asarray(sma_slow, dtype=np.float64)
    n = len(f)
    event = np.full(n, np.nan)
    if n > 1:
        f0, s0, f1, s1 = f[1:], s[1:], f[:-1], s[:-1]
        up = (f0 > s0) & (f1 <= s1)
        down = (f0 < s0) & (f1 >= s1)
        event[1:][down] = -1.0 if allow_short else 0.0
        event[1:][up] = 1.0
    if n:
        event[0] = 0.0 if np.isnan(event[0]) else event[0]
    idx = np.where(np.isnan(event), 0, np.arange(n))
    np.maximum.accumulate(idx, out=idx)
    return event[idx]


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
) -> tuple[F64, F64, npt.NDArray[np.int64], F64, F64, F64]:
    n = len(close)
    pos = np.zeros(n)
    cash = np.zeros(n)  # cumulative cash change from trading
    f_idx = np.empty(n, np.int64)
    f_units = np.empty(n)
    f_price = np.empty(n)
    f_comm = np.empty(n)
    k = 0
    p = 0.0
    c = 0.0
    for t in range(n):
        if t > 0:
            tgt = target[t - 1]
            if not np.isnan(tgt) and tgt != p:
                d = tgt - p
                raw = close[t] if at_close else open_[t]
                price = raw + raw * slip + half if d > 0 else raw - raw * slip - half
                size = abs(d)
                comm = size * per_unit + size * price * bps
                c -= d * price + comm
                p = tgt
                f_idx[k] = t
                f_units[k] = d
                f_price[k] = price
                f_comm[k] = comm
                k += 1
        pos[t] = p
        cash[t] = c
    return pos, cash, f_idx[:k], f_units[:k], f_price[:k], f_comm[:k]


def run_vector(
    bars: Mapping[str, BarSeries],
    signals: Mapping[str, F64],
    cfg: BacktestConfig,
    strategy_name: str,
    params: Mapping[str, Any] | None = None,
    pip_locations: Mapping[str, int] | None = None,
) -> BacktestResult:
    """Simulate ``signals`` (per instrument, aligned with its bars; all on one time grid)."""
    if cfg.sizing.method is not SizingMethod.FIXED_UNITS:
        raise NotImplementedError(
            f"the vectorised engine sizes fixed_units only, not {cfg.sizing.method.value!r}"
        )
    symbols = tuple(bars)
    ts = bars[symbols[0]].ts
    for s in symbols:
        if not np.array_equal(bars[s].ts, ts):
            raise ValueError(f"{s}: bars are not on the same time grid as {symbols[0]}")
        if len(signals[s]) != len(ts):
            raise ValueError(f"{s}: {len(signals[s])} signals for {len(ts)} bars")
    pips = pip_locations or {}
    at_close = cfg.fill is FillTiming.NEXT_CLOSE
    n = len(ts)
    equity = np.full(n, cfg.cash)
    gross = np.zeros(n)
    raw_fills: list[tuple[int, int, str, float, float, float]] = []
    for s in symbols:
        b, m = bars[s], cost_model(cfg.costs, pips.get(s, DEFAULT_PIP_LOCATION))
        target = np.asarray(signals[s], dtype=np.float64) * cfg.sizing.value
        pos, cash, fi, fu, fp, fc = _simulate(
            b.open, b.close, target, at_close, m.half_spread, m.slip_frac, m.per_unit, m.bps_frac
        )
        equity += cash + pos * b.close
        gross += np.abs(pos) * b.close
        for j in range(len(fi)):
            raw_fills.append((int(fi[j]), len(raw_fills), s, fu[j], fp[j], fc[j]))
    raw_fills.sort(key=lambda x: (x[0], x[1]))
    fills = [
        Fill(int(ts[i]), s, strategy_name, float(u), float(p), float(c), ref)
        for ref, (i, _, s, u, p, c) in enumerate(raw_fills, start=1)
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        exposure = np.where(equity != 0, gross / equity, np.nan)
    return BacktestResult(
        strategy=strategy_name,
        params=dict(params or {}),
        instruments=symbols,
        ts_us=ts.copy(),
        equity=equity,
        exposure=exposure,
        fills=fills,
        trades=trades_from_fills(fills, bars, strategy_name),
    )

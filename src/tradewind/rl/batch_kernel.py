"""The batch environment's numba kernels: N trading environments stepped in one call.

The arithmetic is ``TradingEnv.step``'s, written once more as a loop over environments so a
whole batch costs one call: fills at the next bar's open (or close) at the shared cost model's
price, orders rounded to the instrument's unit precision (``backtest.units``), Backtrader's
average-price rule, equity marked at the close, the same reward kinds, drawdown termination
and position state. ``tests/unit/rl/test_rl_batch.py`` holds the two to the same observations,
rewards and ends, step by step.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from tradewind.backtest.units import round_order

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

REWARD_PNL = 0
REWARD_DRAWDOWN = 1
REWARD_DSR = 2

# per-environment float state columns
S_UNITS, S_PRICE, S_CASH, S_EQUITY, S_PEAK, S_TARGET, S_DSR_A, S_DSR_B, S_FEES, S_DD = range(10)
N_STATE = 10
DSR_CLIP = 10.0  # TradingEnv's
DSR_MIN_VAR = 1e-12


@numba.njit(cache=True)
def write_obs(
    obs: F32,
    i: int,
    scaled: F32,
    t: int,
    window: int,
    position_state: bool,
    units: float,
    price: float,
    close: float,
    held: int,
    max_units: float,
    time_scale: float,
) -> None:
    """Observation of environment ``i`` at row ``t`` into ``obs[i]`` (ObservationBuilder's
    layout: the window's scaled rows oldest first, then ``position_state``'s three values)."""
    nf = scaled.shape[1]
    k = 0
    for r in range(t - window + 1, t + 1):
        for j in range(nf):
            obs[i, k] = scaled[r, j]
            k += 1
    if position_state:
        obs[i, k] = units / max_units
        if units != 0.0 and price > 0.0:
            obs[i, k + 1] = units * (close - price) / (max_units * price)
        else:
            obs[i, k + 1] = 0.0
        obs[i, k + 2] = min(held / time_scale, 1.0)


@numba.njit(cache=True)
def step_batch(  # noqa: C901  numba kernel: one loop for speed; split later
    targets: F64,
    fill: F64,
    close: F64,
    scaled: F32,
    rows: I64,
    ends: I64,
    state: F64,
    held: I64,
    since: I64,
    invalid: I64,
    params: F64,
    flags: I64,
    obs: F32,
    rewards: F64,
    terminated: npt.NDArray[np.bool_],
    truncated: npt.NDArray[np.bool_],
) -> None:
    """Advance every environment one bar with ``targets[i]`` (a target position; NaN is flat,
    clipped to [lo, 1]). ``params``: max_units, half spread, slippage fraction, commission per
    unit, commission fraction, initial cash, reward scale, drawdown penalty, sharpe eta, max
    drawdown, time scale, lo. ``flags``: window, reward kind, position_state (0/1),
    min_hold_bars, unit precision (``backtest.units``: orders are rounded toward zero to it;
    ``NO_PRECISION``: not rounded)."""
    max_units, half, slip, per_unit, bps = params[0], params[1], params[2], params[3], params[4]
    cash0, scale, penalty, eta = params[5], params[6], params[7], params[8]
    max_dd, time_scale, lo = params[9], params[10], params[11]
    window, kind, pos_state, min_hold = flags[0], flags[1], flags[2] == 1, flags[3]
    precision = flags[4]
    eps = 1e-9 * max(1.0, max_units)
    for i in range(len(rows)):
        s = state[i]
        tgt = targets[i]
        if tgt != tgt:
            tgt = 0.0
        tgt = 1.0 if tgt > 1.0 else (lo if tgt < lo else tgt)
        t = rows[i]
        units = s[S_UNITS]
        delta = tgt * max_units - units
        trade = delta > eps or -delta > eps
        if trade and since[i] < min_hold:
            invalid[i] += 1
            trade = False
        n = t + 1
        new_units = units
        if trade:
            delta = round_order(delta, precision)
        if trade and delta != 0.0:
            raw = fill[n]
            px = raw + raw * slip + half if delta > 0 else raw - raw * slip - half
            size = abs(delta)
            fee = size * per_unit + size * px * bps
            s[S_CASH] -= delta * px + fee
            s[S_FEES] += fee
            new_units = units + delta
            if not new_units:
                s[S_PRICE] = 0.0
            elif not units:
                s[S_PRICE] = px
            elif units > 0:
                if delta > 0:
                    s[S_PRICE] = (s[S_PRICE] * units + delta * px) / new_units
                elif new_units < 0:
                    s[S_PRICE] = px
            else:
                if delta < 0:
                    s[S_PRICE] = (s[S_PRICE] * units + delta * px) / new_units
                elif new_units > 0:
                    s[S_PRICE] = px
            s[S_UNITS] = new_units
        if trade:  # the decision to change, even if it rounded to no order (TradingEnv's)
            since[i] = 1
            s[S_TARGET] = tgt
        else:
            since[i] += 1
        if not new_units:
            held[i] = 0
        elif not units or (units > 0) != (new_units > 0):
            held[i] = 1
        else:
            held[i] += 1
        prev = s[S_EQUITY]
        equity = s[S_CASH] + new_units * close[n]
        s[S_EQUITY] = equity
        if equity > s[S_PEAK]:
            s[S_PEAK] = equity
        dd = 1.0 - equity / s[S_PEAK]
        if kind == REWARD_PNL:
            r = (equity - prev) / cash0 * scale
        elif kind == REWARD_DRAWDOWN:
            rise = dd - s[S_DD] if dd > s[S_DD] else 0.0
            r = ((equity - prev) / cash0 - penalty * rise) * scale
        else:
            ret = equity / prev - 1.0
            a, b = s[S_DSR_A], s[S_DSR_B]
            da, db = ret - a, ret * ret - b
            var = b - a * a
            d = (b * da - 0.5 * a * db) / var**1.5 if var > DSR_MIN_VAR else 0.0
            s[S_DSR_A], s[S_DSR_B] = a + eta * da, b + eta * db
            r = DSR_CLIP if d > DSR_CLIP else (-DSR_CLIP if d < -DSR_CLIP else d)
        rewards[i] = r
        s[S_DD] = dd
        rows[i] = n
        terminated[i] = dd >= max_dd
        truncated[i] = (not terminated[i]) and n >= ends[i]
        write_obs(
            obs,
            i,
            scaled,
            n,
            window,
            pos_state,
            new_units,
            s[S_PRICE],
            close[n],
            held[i],
            max_units,
            time_scale,
        )


@numba.njit(cache=True)
def targets_of(actions: I64, table: F64, out: F64) -> None:
    for i in range(len(actions)):
        out[i] = table[actions[i]]

"""The batch environment's numba kernels: N trading environments stepped in one call.

The arithmetic is ``TradingEnv.step``'s, written once more as a loop over environments so a
whole batch costs one call: fills at the next bar's open (or close) at the shared cost model's
price, Backtrader's average-price rule, equity marked at the close, the same reward kinds,
drawdown termination and position state. ``tests/unit/rl/test_batch.py`` holds the two to the
same observations, rewards and ends, step by step.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

REWARD_PNL = 0
REWARD_DRAWDOWN = 1
REWARD_DSR = 2

# per-environment float state columns
S_UNITS, S_PRICE, S_CASH, S_EQUITY, S_PEAK, S_TARGET, S_DSR_A, S_DSR_B, S_FEES = range(9)
N_STATE = 9


@numba.njit(cache=True, inline="always")
def _fill_price(raw: float, buy: bool, half: float, slip: float) -> float:
    if buy:
        return raw + raw * slip + half
    return raw - raw * slip - half


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
    layout: the window's scaled rows oldest first, then the position state)."""
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
def step_batch(
    targets: F64,
    valid: npt.NDArray[np.bool_],
    open_: F64,
    close: F64,
    scaled: F32,
    rows: I64,
    ends: I64,
    state: F64,
    held: I64,
    since_change: I64,
    params: F64,
    flags: I64,
    obs: F32,
    rewards: F32,
    terminated: npt.NDArray[np.bool_],
    truncated: npt.NDArray[np.bool_],
) -> None:
    """Advance every environment one bar.

    ``targets[i]``: the target position in [-1, 1] the action asks for; ``valid[i]``: False
    for a masked action (the current target is kept). ``params``: max_units, half spread,
    slippage fraction, commission per unit, commission fraction, initial cash, reward scale,
    drawdown penalty, sharpe eta, max drawdown, time scale. ``flags``: window, at_close (0/1),
    reward kind, position_state (0/1), min_hold_bars."""
    max_units, half, slip, per_unit, bps = params[0], params[1], params[2], params[3], params[4]
    cash0, scale, dd_pen, eta, max_dd, time_scale = (
        params[5],
        params[6],
        params[7],
        params[8],
        params[9],
        params[10],
    )
    window, at_close, kind, pos_state = flags[0], flags[1] == 1, flags[2], flags[3] == 1
    for i in range(len(rows)):
        s = state[i]
        tgt = s[S_TARGET]
        if valid[i]:
            tgt = targets[i]
        t = rows[i] + 1
        prev_units = s[S_UNITS]
        units = prev_units
        desired = tgt * max_units
        delta = desired - units
        if abs(delta) > 1e-9 * max(1.0, max_units):
            raw = close[t] if at_close else open_[t]
            px = _fill_price(raw, delta > 0, half, slip)
            size = abs(delta)
            comm = size * per_unit + size * px * bps
            s[S_CASH] -= delta * px + comm
            s[S_FEES] += comm
            new_units = units + delta
            if new_units == 0.0:
                s[S_PRICE] = 0.0
            elif units == 0.0:
                s[S_PRICE] = px
            elif units > 0.0:
                if delta > 0.0:
                    s[S_PRICE] = (s[S_PRICE] * units + delta * px) / new_units
                elif new_units < 0.0:
                    s[S_PRICE] = px
            else:
                if delta < 0.0:
                    s[S_PRICE] = (s[S_PRICE] * units + delta * px) / new_units
                elif new_units > 0.0:
                    s[S_PRICE] = px
            units = new_units
            s[S_UNITS] = units
            since_change[i] = 0
        else:
            since_change[i] += 1
        s[S_TARGET] = tgt
        # bars held (next_bars_held)
        if units == 0.0:
            held[i] = 0
        elif prev_units == 0.0 or (prev_units > 0.0) != (units > 0.0):
            held[i] = 1
        else:
            held[i] += 1
        prev_equity = s[S_EQUITY]
        equity = s[S_CASH] + units * close[t]
        s[S_EQUITY] = equity
        prev_dd = 1.0 - prev_equity / s[S_PEAK]
        if equity > s[S_PEAK]:
            s[S_PEAK] = equity
        dd = 1.0 - equity / s[S_PEAK]
        ret = (equity - prev_equity) / cash0
        if kind == REWARD_PNL:
            r = ret * scale
        elif kind == REWARD_DRAWDOWN:
            r = ret * scale - dd_pen * max(dd - prev_dd, 0.0) * scale
        else:
            a, b = s[S_DSR_A], s[S_DSR_B]
            var = b - a * a
            r = 0.0
            if var > 0.0:
                r = (b * (ret - a) - 0.5 * a * (ret * ret - b)) / var**1.5
            s[S_DSR_A] = a + eta * (ret - a)
            s[S_DSR_B] = b + eta * (ret * ret - b)
        rewards[i] = r
        rows[i] = t
        terminated[i] = dd >= max_dd
        truncated[i] = (not terminated[i]) and t >= ends[i]
        write_obs(
            obs,
            i,
            scaled,
            t,
            window,
            pos_state,
            units,
            s[S_PRICE],
            close[t],
            held[i],
            max_units,
            time_scale,
        )

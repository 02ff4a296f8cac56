"""Training labels. They LOOK FORWARD by design: the label at bar t is made from bars t+1..t+h.

Use them only as training targets, never as inputs to a strategy or model at decision time, and
never mix them into a ``FeatureFrame``. Every function returns ``Labels``: ``label`` (int8 in
{-1, 0, 1}) and ``valid`` (bool). A row is invalid when its full horizon is not in the data (the
last ``horizon`` rows) or its inputs are NaN; invalid rows hold label 0, which is NOT a
"flat" label: drop them with ``valid`` before training.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class Labels(NamedTuple):
    label: npt.NDArray[np.int8]  # -1, 0, +1; 0 also on invalid rows
    valid: npt.NDArray[np.bool_]  # False where the horizon runs past the data or inputs are NaN


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")


def forward_return_sign(close: npt.ArrayLike, horizon: int, threshold: float = 0.0) -> Labels:
    """Sign of ``close[t+horizon] / close[t] - 1``: +1 above ``threshold``, -1 below
    ``-threshold``, 0 within it (with the default 0, only an exactly unchanged close is 0).

    Looks forward (uses bar t+horizon); for training only. The last ``horizon`` rows are invalid.
    """
    _check_horizon(horizon)
    c = np.asarray(close, dtype=np.float64)
    n = len(c)
    label = np.zeros(n, dtype=np.int8)
    valid = np.zeros(n, dtype=bool)
    if n > horizon:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = c[horizon:] / c[:-horizon] - 1.0
        ok = np.isfinite(r)
        lab = np.where(r > threshold, 1, np.where(r < -threshold, -1, 0)).astype(np.int8)
        label[: n - horizon] = np.where(ok, lab, 0)
        valid[: n - horizon] = ok
    return Labels(label, valid)


def triple_barrier(
    close: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    horizon: int,
    up_mult: float,
    down_mult: float,
    vol: npt.ArrayLike,
) -> Labels:
    """Triple-barrier label of a position entered at ``close[t]``.

    Barriers: upper ``close[t] * (1 + up_mult * vol[t])``, lower
    ``close[t] * (1 - down_mult * vol[t])``, vertical ``horizon`` bars later. Bars t+1..t+horizon
    are scanned in order: +1 if a bar's high reaches the upper barrier first (``high >= upper``),
    -1 if a bar's low reaches the lower barrier first (``low <= lower``), 0 if neither is touched
    by bar t+horizon. When one bar touches both, the order within the bar is unknown and we take
    the conservative -1 (assume the stop was hit first). ``vol`` is a fractional volatility
    known at t (e.g. a rolling std of returns or ATR / close); rows with NaN or negative
    ``vol[t]`` are invalid, as are the last ``horizon`` rows (the horizon is not complete, even
    if a barrier was already touched, so every valid label sees the same span).

    Looks forward (uses bars t+1..t+horizon); for training only.
    """
    _check_horizon(horizon)
    c = np.asarray(close, dtype=np.float64)
    h = np.asarray(high, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    v = np.asarray(vol, dtype=np.float64)
    n = len(c)
    if not (len(h) == len(lo) == len(v) == n):
        raise ValueError(
            f"close, high, low, vol lengths differ: {n}, {len(h)}, {len(lo)}, {len(v)}"
        )
    if up_mult <= 0 or down_mult <= 0:
        raise ValueError("up_mult and down_mult must be positive")
    label = np.zeros(n, dtype=np.int8)
    valid = np.zeros(n, dtype=bool)
    m = n - horizon  # rows with a complete horizon
    if m <= 0:
        return Labels(label, valid)
    entry, vt = c[:m], v[:m]
    upper = entry * (1.0 + up_mult * vt)
    lower = entry * (1.0 - down_mult * vt)
    decided = np.zeros(m, dtype=bool)
    lab = np.zeros(m, dtype=np.int8)
    for k in range(1, horizon + 1):
        hit_up = h[k : k + m] >= upper
        hit_dn = lo[k : k + m] <= lower
        new = ~decided & (hit_up | hit_dn)
        lab[new & hit_dn] = -1  # a bar touching both counts as -1 (conservative)
        lab[new & hit_up & ~hit_dn] = 1
        decided |= new
    ok = np.isfinite(entry) & np.isfinite(vt) & (vt >= 0)
    label[:m] = np.where(ok, lab, 0)
    valid[:m] = ok
    return Labels(label, valid)

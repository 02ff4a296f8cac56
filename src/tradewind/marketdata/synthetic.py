"""Seeded synthetic FX bars. The data is SYNTHETIC: a statistical model, not a market record.

``generate_bars(cfg)`` returns ``cfg.bars`` OHLC bars of MID prices with tick-volume-like
volume and a bid/ask spread. The same config always gives the same bars (``cfg.seed``).
What is in the data:

* Time grid: bar open times on the timeframe grid, from ``cfg.start`` (naive = UTC) snapped
  up to the grid. With ``cfg.weekends``, bars opening in the FX weekend (Friday 21:00 to
  Sunday 21:00 UTC; for daily bars Saturday and Sunday) are left out; otherwise the grid is
  unbroken.
* Volatility: per-bar log-return std is ``annual_vol * sqrt(period / FX year)``, the FX
  trading year every annualisation uses (``FX_TRADING_SECONDS_PER_YEAR``: 260 x 86400 s),
  times a regime multiplier times an intraday seasonality multiplier.
* Regimes: a two-state Markov chain (normal, high = ``high_vol_multiplier``) that starts
  normal and switches with probability ``1 - (1 - regime_switch_per_day) ** (period / day)``
  per bar.
* Seasonality: a smooth multiplier by UTC hour, quiet late in the session (21:00-00:00),
  raised at the London open (07-10) and the London/New York overlap (12-16). Its square
  averages exactly 1 over a day, so daily bars see 1. Off (flat) when ``seasonality`` is false;
  it also sets the volume and spread profiles.
* Predictable component: standardised returns are ``a_t + n_t`` with the hidden AR(1)
  ``a_t = phi * a_{t-1} + e_t`` (``phi = signal_persistence``, stationary start), scaled so
  ``a`` carries ``signal_share`` of the variance; so lag-1 autocorrelation is about
  ``signal_share * phi`` and momentum features predict. ``signal_share = 0`` is a pure
  random walk.
* Weekend gaps: the first bar after a weekend opens away from the last close by a normal log
  return with std = per-hour vol (times regime) * ``sqrt(weekend_gap_vol_hours)``.
* High/low: the exact extremes of a Brownian bridge from open to close with the bar's vol,
  so they extend beyond open/close by a random positive amount.
* Spread: ``spread_pips * 10**pip_location``, divided by the seasonality multiplier (wider
  when quiet), times ``sqrt(regime multiplier)``, with 15% lognormal noise; full spread in
  price units, rounded to ``price_decimals + 1``.
* Volume: ``volume_base * seasonality * regime multiplier`` with 30% lognormal noise, rounded
  to whole ticks. ``volume_base`` is per bar (normal regime), whatever the timeframe.

Prices are rounded to ``price_decimals``; high/low are then taken over the rounded open/close
too, so every bar is valid. Prices never go below one tick, and the log price is held within
+-20 of the start (only reachable with extreme vol over very long series).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from tradewind.config import SyntheticConfig
from tradewind.domain import FX_TRADING_SECONDS_PER_YEAR

__all__ = ["COLUMNS", "generate_bars"]

COLUMNS = ("ts", "open", "high", "low", "close", "volume", "spread")

_DAY = 86_400
_WEEK = 7 * _DAY
_YEAR = FX_TRADING_SECONDS_PER_YEAR  # one trading year for annualised vol
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_WEEKEND = (4 * _DAY + 21 * 3600, 6 * _DAY + 21 * 3600)  # Fri 21:00 .. Sun 21:00, from Monday
# Relative volatility by UTC hour 0..23 (shape only; normalised below so mean(v**2) == 1).
_HOURLY = np.array(
    [
        0.70,
        0.80,
        0.85,
        0.80,
        0.75,
        0.75,
        0.90,
        1.20,
        1.40,
        1.30,
        1.15,
        1.10,
        1.30,
        1.50,
        1.50,
        1.35,
        1.10,
        0.90,
        0.80,
        0.75,
        0.65,
        0.50,
        0.50,
        0.60,
    ]
)
_HOURLY_VAR = _HOURLY**2 / np.mean(_HOURLY**2)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _grid(start: datetime, period: int, bars: int, weekends: bool) -> I64:
    """Bar open times as epoch seconds: ``bars`` grid points from ``start``, weekends skipped."""
    us = (start - datetime(1970, 1, 1)) // timedelta(microseconds=1)
    first = -(-us // (period * 1_000_000)) * period  # snap up to the grid
    if not weekends:
        return first + period * np.arange(bars, dtype=np.int64)
    if _WEEK % period:
        raise ValueError(f"period {period}s does not divide a week")
    # The grid repeats every week: find the open slots of one week, then tile whole weeks.
    slots = np.arange(0, _WEEK, period, dtype=np.int64)
    from_monday = (slots + _EPOCH_WEEKDAY * _DAY) % _WEEK
    if period >= _DAY:
        closed = from_monday >= 5 * _DAY
    else:
        closed = (from_monday >= _WEEKEND[0]) & (from_monday < _WEEKEND[1])
    slots = slots[~closed]
    week0 = first - first % _WEEK
    head = week0 + slots[slots >= first - week0]
    weeks = -(-max(bars - len(head), 0) // len(slots))
    starts = week0 + _WEEK * np.arange(1, weeks + 1, dtype=np.int64)
    tail = (starts[:, None] + slots[None, :]).ravel()
    return np.concatenate([head, tail])[:bars]


def _seasonality(ts: I64, period: int) -> F64:
    """Vol multiplier per bar: RMS of the hourly profile over the bar (exact for this grid)."""
    if period >= _DAY:
        return np.ones(len(ts))
    # The periods divide a day, so a bar's multiplier depends only on its slot in the day.
    slots = np.arange(0, _DAY, period, dtype=np.float64)
    k = max(1, period // 900)  # quarter-hour midpoints integrate the linear profile exactly
    var = np.zeros(len(slots))
    for j in range(k):
        hour = (slots + (j + 0.5) * period / k) / 3600.0
        var += np.interp(hour, np.arange(24), _HOURLY_VAR, period=24)
    return np.sqrt(var / k)[(ts % _DAY) // period]


def _ar1(e: F64, phi: float) -> F64:
    """``x_t = phi * x_{t-1} + e_t`` (x_{-1} = 0), vectorised in blocks.

    Within a block of length B, x_j = phi**j * cumsum(e_i * phi**-i); B is chosen so that
    phi**-B stays below 1e100 and the carry between blocks (decaying as phi**B) is negligible.
    """
    n = len(e)
    if phi == 0.0 or n == 0:
        return e.copy()
    b = int(min(n, max(1, math.floor(100 * math.log(10) / -math.log(phi)))))
    rows = -(-n // b)
    padded = np.zeros(rows * b)
    padded[:n] = e
    j = np.arange(b)
    local = np.cumsum(padded.reshape(rows, b) * phi**-j, axis=1) * phi**j
    carry = np.concatenate([[0.0], local[:-1, -1]])
    return (local + carry[:, None] * phi ** (j + 1)).ravel()[:n]


def generate_bars(cfg: SyntheticConfig) -> pd.DataFrame:
    """Generate ``cfg.bars`` synthetic mid-price bars; see the module docstring for the model."""
    rng = np.random.default_rng(cfg.seed)
    n, period = cfg.bars, cfg.timeframe.seconds
    ts = _grid(cfg.start, period, n, cfg.weekends)

    # Volatility: base per bar x regime x seasonality.
    p_switch = 1.0 - (1.0 - cfg.regime_switch_per_day) ** (period / _DAY)
    regime = np.cumsum(rng.random(n) < p_switch) % 2 == 1
    regime_mult = np.where(regime, cfg.high_vol_multiplier, 1.0)
    season = _seasonality(ts, period) if cfg.seasonality else np.ones(n)
    vol = cfg.annual_vol * math.sqrt(period / _YEAR) * regime_mult * season

    # Standardised returns: hidden AR(1) drift (share s of variance) + white noise.
    s, phi = cfg.signal_share, cfg.signal_persistence
    eps = rng.standard_normal(n) * math.sqrt(s * (1.0 - phi**2))
    if n:
        eps[0] = eps[0] / math.sqrt(1.0 - phi**2)  # start the drift in its stationary state
    z = _ar1(eps, phi) + rng.standard_normal(n) * math.sqrt(1.0 - s)
    ret = vol * z

    # Weekend gaps move the open away from the previous close.
    gap = np.zeros(n)
    after = np.flatnonzero(np.diff(ts) > period) + 1
    hour_vol = cfg.annual_vol * math.sqrt(3600 / _YEAR) * math.sqrt(cfg.weekend_gap_vol_hours)
    gap[after] = rng.standard_normal(len(after)) * hour_vol * regime_mult[after]

    # Log prices: close path, open = previous close (+ gap), bridge extremes.
    lo0 = math.log(cfg.start_price)
    lclose = lo0 + np.cumsum(gap + ret)
    lopen = np.concatenate([[lo0], lclose[:-1]]) + gap
    x, var = ret, vol**2  # the bar's move from open to close, and its variance
    up = 0.5 * (x + np.sqrt(x**2 - 2.0 * var * np.log1p(-rng.random(n))))
    down = 0.5 * (x - np.sqrt(x**2 - 2.0 * var * np.log1p(-rng.random(n))))

    tick = 10.0**-cfg.price_decimals

    def price(logp: F64) -> F64:
        p = np.round(np.exp(np.clip(logp, lo0 - 20.0, lo0 + 20.0)), cfg.price_decimals)
        return np.maximum(p, tick)

    open_, close = price(lopen), price(lclose)
    high = np.maximum(price(lopen + up), np.maximum(open_, close))
    low = np.minimum(price(lopen + down), np.minimum(open_, close))

    # Liquidity: volume follows activity, spread widens when quiet or volatile.
    volume = np.rint(cfg.volume_base * season * regime_mult * rng.lognormal(-0.5 * 0.3**2, 0.3, n))
    spread_mult = np.sqrt(regime_mult) / season * rng.lognormal(-0.5 * 0.15**2, 0.15, n)
    spread = np.round(
        cfg.spread_pips * 10.0**cfg.pip_location * spread_mult, cfg.price_decimals + 1
    )

    stamps = pd.DatetimeIndex((ts * 1_000_000).astype("datetime64[us]")).tz_localize("UTC")
    return pd.DataFrame(
        {
            "ts": stamps,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "spread": spread,
        },
        columns=list(COLUMNS),
        copy=False,  # the arrays are fresh; do not copy them into one block
    )

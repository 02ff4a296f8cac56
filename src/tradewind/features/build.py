"""Compute a ``FeatureSpec`` over bars: ordered float64 columns, warm-up rows marked, no look-ahead.

Columns come out in spec order, one per feature named by its ``name``, except the time
encodings, which make ``{name}_sin`` and ``{name}_cos``. Rows a feature cannot compute yet
(its lookback: TA-Lib's, a transform's window, or that of the feature it reads) are NaN and
are never back-filled; ``FeatureFrame.warmup`` counts the leading rows where any column is
still in its lookback, so ``frame.valid()`` is the part a model or strategy may use.

No look-ahead: every value at row t depends on rows 0..t only, so computing over
``bars[:t+1]`` gives exactly (bit for bit) the first t+1 rows of computing over all bars. This
holds for every TA-Lib function we checked (all 200 that read bar fields), including the
EMA-type ones with an "unstable period" (EMA, RSI, ATR, ADX, MACD, KAMA, ...): TA-Lib seeds
them from the *first* bars and runs forward, and ``talib.set_unstable_period`` only turns more
leading rows into NaN, never changes a value. What those functions do depend on is where the
series *starts*: cut bars off the front and their values differ (RSI by many points at first,
converging over a few hundred bars). So compute features over the full history you have (or a
long, fixed head start) rather than a short trailing window, if live values must match a
backtest's. We never call ``set_unstable_period`` (it is process-wide state, and TA-Lib refuses
it while a stream handle is open, e.g. a live ``IncrementalFeatures``); if a caller does, the
NaN counts and thus ``warmup`` follow it, the values do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import talib

from tradewind.config.features import (
    BAR_FIELDS,
    FeatureDef,
    FeatureSpec,
    talib_inputs,
    talib_outputs,
    talib_params,
)
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

US_PER_DAY = 86_400_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


@dataclass(frozen=True, slots=True, eq=False)
class FeatureFrame:
    """Features of one bar series: ``values[i, j]`` is column ``columns[j]`` at bar ``ts[i]``.

    ``ts`` is int64 UTC epoch microseconds (the bars' open times). ``values`` is float64,
    shape (n, k), read-only. ``warmup`` is the number of leading rows in which at least one
    column is NaN because its lookback is not yet filled (min(n, the longest lookback)).
    """

    ts: I64
    columns: tuple[str, ...]
    values: F64
    warmup: int

    def __len__(self) -> int:
        return len(self.ts)

    def column(self, name: str) -> F64:
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            cols = ", ".join(self.columns)
            raise KeyError(f"no feature column {name!r}; columns: {cols}") from None

    def valid(self) -> FeatureFrame:
        """The rows after the warm-up: every column computed."""
        return self.rows(slice(self.warmup, None))

    def rows(self, index: slice) -> FeatureFrame:
        """A contiguous slice of rows; ``warmup`` is recounted for it."""
        ts, values = self.ts[index], self.values[index]
        return FeatureFrame(ts, self.columns, values, _leading_nan_rows(values))

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with a UTC DatetimeIndex named ``ts`` and the columns in order."""
        index = pd.DatetimeIndex(pd.to_datetime(self.ts, unit="us", utc=True), name="ts")
        return pd.DataFrame(self.values, index=index, columns=list(self.columns), copy=True)


def feature_names(spec: FeatureSpec) -> tuple[str, ...]:
    """The output columns of ``spec`` in order, without computing anything."""
    return spec.columns


def build_features(
    bars: BarSeries, spec: FeatureSpec, spread: npt.ArrayLike | None = None
) -> FeatureFrame:
    """Compute ``spec`` over ``bars``.

    ``spread`` (ask - bid per bar, same length as ``bars``) feeds the ``spread`` transform; a
    spec with a ``spread`` feature and no ``spread`` array is an error, never a guess (the
    high-low range is not a spread; use ``TRANGE`` or ``ATR`` for that).
    """
    n = len(bars)
    sources: dict[str, F64] = {f: _f64(getattr(bars, f)) for f in BAR_FIELDS}
    spread_arr = None if spread is None else _f64(spread)
    if spread_arr is not None and len(spread_arr) != n:
        raise ValueError(f"spread has {len(spread_arr)} rows, bars {n}")
    out: list[F64] = []
    for feat in spec.features:
        cols = _compute(feat, bars.ts, sources, spread_arr)
        for name, col in zip(feat.columns, cols, strict=True):
            sources[name] = col
            out.append(col)
    values = np.column_stack(out) if out else np.empty((n, 0))
    values = np.ascontiguousarray(values, dtype=np.float64)
    values.flags.writeable = False
    ts = np.asarray(bars.ts, dtype=np.int64)
    return FeatureFrame(ts, spec.columns, values, _leading_nan_rows(values))


def _f64(a: npt.ArrayLike) -> F64:
    return np.ascontiguousarray(a, dtype=np.float64)


def _leading_nan_rows(values: F64) -> int:
    """Rows before the first at which every column has had its first value."""
    n = values.shape[0]
    if n == 0 or values.shape[1] == 0:
        return 0
    finite = ~np.isnan(values)
    has = finite.any(axis=0)
    first = np.where(has, finite.argmax(axis=0), n)
    return int(first.max())


def _compute(feat: FeatureDef, ts: I64, sources: dict[str, F64], spread: F64 | None) -> list[F64]:
    fn = feat.fn
    x = sources[feat.input or "close"]
    if fn == "log_return":
        return [log_return(x, int(feat.param("period")))]
    if fn == "zscore":
        return [rolling_zscore(x, int(feat.param("window")), int(feat.param("ddof")))]
    if fn == "spread":
        if spread is None:
            raise ValueError(f"feature {feat.name!r} (spread) needs the spread argument")
        return [spread.copy()]
    if fn == "time_of_day":
        return list(_cyclic((ts % US_PER_DAY) / US_PER_DAY))
    if fn == "day_of_week":
        weekday = (np.floor_divide(ts, US_PER_DAY) + _EPOCH_WEEKDAY) % 7
        return list(_cyclic(weekday / 7.0))
    return [_talib(feat, sources)]


def _talib(feat: FeatureDef, sources: dict[str, F64]) -> F64:
    args = [sources[src] for src in talib_sources(feat)]
    result = getattr(talib, feat.fn)(*args, **talib_kwargs(feat))
    if isinstance(result, tuple):
        assert feat.output is not None  # FeatureDef requires it of a multi-output function
        result = result[talib_outputs(feat.fn).index(feat.output)]
    return _f64(result)


def talib_sources(feat: FeatureDef) -> list[str]:
    """The bar fields or columns a TA-Lib feature reads, in ``talib.<fn>``'s positional order."""
    return [
        feat.input if slot == "price" and feat.input else src for slot, src in talib_inputs(feat.fn)
    ]


def talib_kwargs(feat: FeatureDef) -> dict[str, Any]:
    """A TA-Lib feature's params as TA-Lib's own types (int periods, float multipliers)."""
    defaults = talib_params(feat.fn)
    return {k: int(v) if isinstance(defaults[k], int) else float(v) for k, v in feat.params.items()}


def log_return(x: F64, period: int = 1) -> F64:
    """``log(x[t] / x[t-period])``; the first ``period`` rows (and non-positive prices) NaN."""
    out = np.full(len(x), np.nan)
    if len(x) > period:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(x[period:] / x[:-period])
        r[~np.isfinite(r)] = np.nan
        out[period:] = r
    return out


def rolling_zscore(x: F64, window: int, ddof: int = 0) -> F64:
    """``(x[t] - mean) / std`` over ``x[t-window+1..t]`` (the past window including t).

    ``ddof=0`` is the population std (as TA-Lib's STDDEV), ``ddof=1`` the sample std. The first
    ``window - 1`` rows, any window containing NaN, and windows with zero std are NaN. Sums run
    in a fixed order per row, so a row's value never depends on how long the series is.
    """
    n = len(x)
    out = np.full(n, np.nan)
    m = n - window + 1
    if m <= 0:
        return out
    total = np.zeros(m)
    for k in range(window):
        total += x[k : k + m]
    mean = total / window
    sq = np.zeros(m)
    for k in range(window):
        d = x[k : k + m] - mean
        sq += d * d
    std = np.sqrt(sq / (window - ddof))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x[window - 1 :] - mean) / std
    z[std == 0] = np.nan
    out[window - 1 :] = z
    return out


def _cyclic(fraction: F64) -> tuple[F64, F64]:
    angle = 2.0 * np.pi * np.asarray(fraction, dtype=np.float64)
    return np.sin(angle), np.cos(angle)

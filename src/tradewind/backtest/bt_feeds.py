"""Backtrader data feeds: bars plus precomputed feature columns as extra lines.

Features are never recomputed with Backtrader indicators; each column arrives as a line of the
same name (``data.sma_fast[0]``). The line ``tsus`` carries the bar's exact UTC epoch µs (from
the bars' times, not a frame column); with per-bar spreads (``spread: data``) the lines
``tw_spread_open`` and ``tw_spread_close`` carry the bar's ask - bid at the open and at the close.
"""

from __future__ import annotations

import keyword
from array import array
from collections.abc import Mapping

import backtrader as bt
import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.backtest.costs import SpreadSeries
from tradewind.domain.series import BarSeries

TS_LINE = "tsus"
SPREAD_OPEN_LINE = "tw_spread_open"
SPREAD_CLOSE_LINE = "tw_spread_close"
_RESERVED = {
    "datetime",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "openinterest",
    TS_LINE,
    SPREAD_OPEN_LINE,
    SPREAD_CLOSE_LINE,
}


def _check_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(f"feature {name!r} is not usable as a Backtrader line name")
    if name in _RESERVED:
        raise ValueError(f"feature {name!r} clashes with a built-in data line")


class _TimedPandasData(bt.feeds.PandasData):
    """PandasData whose ``tsus`` line comes from the ``ts_us`` param (the bars' int64 times),
    not from a frame column, written whole once the feed is preloaded: nothing per bar. Only for
    preloaded runs (``run_backtrader`` always preloads): loaded bar by bar, ``tsus`` stays NaN.
    """

    lines = (TS_LINE,)
    params = ((TS_LINE, None), ("ts_us", None))

    def preload(self) -> None:
        super().preload()
        line = getattr(self.lines, TS_LINE)
        times = np.asarray(self.p.ts_us, dtype=np.float64)  # exact: |µs| < 2**53
        if len(line.array) != len(times):
            raise RuntimeError(f"{self._name}: {len(line.array)} bars loaded, {len(times)} times")
        line.array[:] = array("d", times.tobytes())


def feed_class(feature_names: tuple[str, ...], spreads: bool = False) -> type[bt.feeds.PandasData]:
    """A PandasData subclass with ``tsus``, the spread lines (with ``spreads``) and one extra
    line per feature column."""
    for name in feature_names:
        _check_name(name)
    extra = (SPREAD_OPEN_LINE, SPREAD_CLOSE_LINE) if spreads else ()
    lines = (*extra, *feature_names)
    return type(
        "FeaturePandasData",
        (_TimedPandasData,),
        {"lines": lines, "params": tuple((n, n) for n in lines)},
    )


def make_feed(
    symbol: str,
    bars: BarSeries,
    features: Mapping[str, npt.NDArray[np.float64]],
    spreads: SpreadSeries | None = None,
) -> bt.feeds.PandasData:
    """One feed named ``symbol``: the bars, ``features`` and ``spreads`` (each aligned with
    the bars)."""
    n = len(bars)
    if n == 0:
        raise ValueError(f"{symbol}: no bars")
    if np.any(np.diff(bars.ts) <= 0):
        raise ValueError(f"{symbol}: bar times are not strictly increasing")
    cols: dict[str, npt.NDArray[np.float64]] = {
        "open": bars.open,
        "high": bars.high,
        "low": bars.low,
        "close": bars.close,
        "volume": bars.volume,
    }
    if spreads is not None:
        for name, values in ((SPREAD_OPEN_LINE, spreads.open), (SPREAD_CLOSE_LINE, spreads.close)):
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"{symbol}: spreads have shape {arr.shape}, bars {n}")
            cols[name] = arr
    for name, values in features.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (n,):
            raise ValueError(f"{symbol}: feature {name!r} has shape {arr.shape}, bars {n}")
        cols[name] = arr
    frame = pd.DataFrame(cols, index=pd.DatetimeIndex(bars.ts.astype("datetime64[us]")))
    cls = feed_class(tuple(features), spreads=spreads is not None)
    return cls(dataname=frame, name=symbol, openinterest=None, ts_us=bars.ts)

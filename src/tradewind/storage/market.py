"""Read bars by symbol: the entry point for features, backtests and training."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection

from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.storage import catalog
from tradewind.storage.bars import BarKey, read_bars


def load_bars(
    conn: Connection,
    symbol: str,
    timeframe: Timeframe | str,
    side: PriceSide | str = PriceSide.MID,
    start: datetime | None = None,
    end: datetime | None = None,
) -> BarSeries:
    """Stored bars of one series with ``start <= ts < end``, oldest first, as numpy arrays."""
    key = BarKey(catalog.instrument_id(conn, symbol), Timeframe(timeframe), PriceSide(side))
    return read_bars(conn, key, start, end)


def bars_frame(bars: BarSeries) -> pd.DataFrame:
    """A DataFrame indexed by UTC bar open time, columns open/high/low/close/volume."""
    index = pd.DatetimeIndex(bars.ts.astype("datetime64[us]"), name="ts").tz_localize("UTC")
    return pd.DataFrame(
        {
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
        },
        index=index,
    )

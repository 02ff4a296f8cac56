"""Columnar bars: numpy arrays, the shape bulk paths (import, storage, features) work in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

PRICE_FIELDS = ("open", "high", "low", "close")
VALUE_FIELDS = (*PRICE_FIELDS, "volume")


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """Bars of one instrument, timeframe and side, as parallel arrays.

    ``ts`` holds bar open times as int64 microseconds since the Unix epoch, UTC. ``line`` is
    where each row came from in its source (1-based line or row), or -1 when not known.
    """

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    line: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in VALUE_FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"BarSeries column {name} has {len(getattr(self, name))} rows, ts {n}"
                )
        if len(self.line) not in (0, n):
            raise ValueError(f"BarSeries line has {len(self.line)} rows, ts {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def lines(self) -> I64:
        return self.line if len(self.line) == len(self.ts) else np.full(len(self.ts), -1, np.int64)

    def take(self, index: npt.NDArray[np.bool_] | I64) -> BarSeries:
        return BarSeries(
            ts=self.ts[index],
            open=self.open[index],
            high=self.high[index],
            low=self.low[index],
            close=self.close[index],
            volume=self.volume[index],
            line=self.lines[index],
        )

    def datetimes(self) -> npt.NDArray[np.datetime64]:
        return self.ts.astype("datetime64[us]")

    @classmethod
    def empty(cls) -> BarSeries:
        f = np.empty(0, np.float64)
        return cls(np.empty(0, np.int64), f, f, f, f, f)

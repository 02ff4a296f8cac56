"""The bars and feature rows of one series in preallocated arrays that double when full.

``IncrementalFeatures`` appends a row a bar (amortised O(1), where ``np.append`` copies the
whole history each time) and hands out read-only views of the rows so far. The steps read their
input histories from here; the table holds no reference back to them, so an engine and its
TA-Lib stream handles are freed as soon as it is dropped (no reference cycle to wait for the
collector: TA-Lib refuses ``set_unstable_period`` while a handle is open).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tradewind.config.features import BAR_FIELDS
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
NB = len(BAR_FIELDS)  # row positions 0..NB-1 are the bar fields, NB + j feature column j


class Table:
    """``ts``, the bar fields and ``k`` feature columns of ``n`` rows (``history`` first)."""

    def __init__(self, history: BarSeries, values: F64, capacity: int) -> None:
        n, k = len(history), values.shape[1]
        cap = max(capacity, 2 * n, 1)
        self.ts = np.empty(cap, np.int64)
        self.data = np.empty((cap, NB + k), np.float64)  # a row: the bar fields, the columns
        self.ts[:n] = history.ts
        for i, f in enumerate(BAR_FIELDS):
            self.data[:n, i] = getattr(history, f)
        self.data[:n, NB:] = values
        self.n = n
        self._read_only()

    def append(self, ts: int, row: list[float]) -> F64:
        """Row ``n``: ``ts``, then the bar fields and feature columns of ``row``; its feature
        columns (read-only)."""
        n = self.n
        if n == len(self.ts):
            self._grow()
        self.ts[n] = ts
        self.data[n] = row
        self.n = n + 1
        return self.ro[n, NB:]

    def column(self, p: int) -> F64:
        """Row position ``p``'s history, a contiguous copy."""
        return np.ascontiguousarray(self.data[: self.n, p])

    def history(self, p: int) -> Callable[[], F64]:
        return lambda: self.column(p)

    def inputs(self, positions: list[int]) -> Callable[[list[float] | None], list[F64]]:
        """The histories of ``positions``, with the bar being computed (``row``) appended."""

        def columns(row: list[float] | None) -> list[F64]:
            if row is None:
                return [self.column(p) for p in positions]
            return [np.append(self.column(p), row[p]) for p in positions]

        return columns

    def series(self) -> BarSeries:
        """The bars so far (copies)."""
        n = self.n
        o, h, low, c, v = (self.data[:n, i].copy() for i in range(NB))
        return BarSeries(self.ts[:n].copy(), o, h, low, c, v)

    def values(self, start: int = 0) -> F64:
        """The feature columns of rows ``start`` on (a read-only view)."""
        return self.ro[start : self.n, NB:]

    def timestamps(self) -> I64:
        ts = self.ts[: self.n].view()
        ts.flags.writeable = False
        return ts

    def _grow(self) -> None:
        cap = 2 * len(self.ts)
        for name in ("ts", "data"):
            old = getattr(self, name)
            new = np.empty((cap, *old.shape[1:]), old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._read_only()

    def _read_only(self) -> None:
        self.ro = self.data.view()
        self.ro.flags.writeable = False

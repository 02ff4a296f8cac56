"""One instrument's last bar returns, kept up to date a bar at a time for ``risk.var``.

A bar close costs O(log n) plus a short memory move, never a pass over the window: the return
goes into a preallocated ring buffer written twice (at ``i`` and ``i + lookback``), so the
window in time order is always one contiguous slice (a numpy view, no copy), and into a sorted
list, so the order statistics VaR and ES need are read off directly. Returns are
``close / previous - 1.0``, the same floating-point operations as numpy's
``c[1:] / c[:-1] - 1.0`` over the closes.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right, insort

import numpy as np


class ReturnWindow:
    """The last ``lookback`` simple returns of one instrument's bar closes. Not thread-safe:
    ``PortfolioVaR`` holds its lock around every call."""

    __slots__ = ("_buf", "_head", "bad", "count", "last", "lookback", "sorted")

    def __init__(self, lookback: int) -> None:
        self.lookback = lookback
        self._buf = array("d", bytes(16 * lookback))  # 2 x lookback doubles, never resized
        self._head = 0  # where the next return goes, in [0, lookback)
        self.count = 0  # returns held, up to lookback
        self.bad = 0  # non-finite returns held (a close overflowing the ratio)
        self.last: float | None = None  # the latest close
        self.sorted: list[float] = []  # the returns held, ascending

    def add(self, close: float) -> None:
        """One more close (finite, > 0: the caller drops others)."""
        last, self.last = self.last, close
        if last is None:
            return
        r = close / last - 1.0
        i, n = self._head, self.lookback
        if self.count == n:  # the oldest return leaves
            old = self._buf[i]
            if math.isfinite(old):
                del self.sorted[bisect_left(self.sorted, old)]
            else:
                self.bad -= 1
                del self.sorted[0 if old < 0 else -1]
        else:
            self.count += 1
        self._buf[i] = self._buf[i + n] = r
        self._head = i + 1 if i + 1 < n else 0
        if not math.isfinite(r):
            self.bad += 1
        insort(self.sorted, r)

    def view(self) -> np.ndarray:
        """The returns held, oldest first: a view into the buffer, valid until the next
        ``add``."""
        start = self._head if self.count == self.lookback else 0
        return np.frombuffer(self._buf, dtype=np.float64)[start : start + self.count]

    def var_es(self, exposure: float, confidence: float) -> tuple[float, float]:
        """(VaR, ES) of ``exposure`` (finite, account currency) over the returns held, equal to
        ``var.historical_var_es`` of the same returns: the same order statistic (multiplying
        by ``exposure`` keeps the order, reversed when it is negative), the same tail
        (``pnl <= cut``, ties included); the tail mean sums in another order, so ES may differ
        in the last bits (float noise, ~1e-16 relative)."""
        s, n = self.sorted, self.count
        if exposure == 0:
            return 0.0, 0.0
        k = math.floor((n - 1) * (1.0 - confidence))
        if exposure > 0:  # the worst scenarios are the lowest returns
            cut = s[k] * exposure
            j = bisect_right(s, s[k])
            while j < n and s[j] * exposure <= cut:  # a product rounded onto the cut
                j += 1
            tail = s[:j]
        else:  # the worst scenarios are the highest returns
            cut = s[n - 1 - k] * exposure
            j = bisect_left(s, s[n - 1 - k])
            while j > 0 and s[j - 1] * exposure <= cut:
                j -= 1
            tail = s[j:]
        mean = sum(map(exposure.__mul__, tail)) / len(tail)  # x * exposure, summed in order
        return max(0.0, -cut) + 0.0, max(0.0, -mean) + 0.0  # + 0.0: no "-0.0"

"""Feature lines of one set of bars, computed once per distinct parameter and shared.

A sweep over fast x slow SMA periods reads SMA(p) for every point that uses period p: 100
points of a 10 x 10 grid read 20 distinct lines 200 times. ``FeatureCache`` computes each
(instrument, key) line once, on first use or up front (``warm``), and hands the same read-only
array to every later reader. ``stats`` counts the lines computed and the reads served from the
cache, so a test can see that each was computed once without replacing anything.

Memory: one float64 array per (instrument, key), i.e. 8 bytes x bars x instruments x keys
(a 1M-bar instrument with 20 distinct periods: 160 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
Compute = Callable[[BarSeries, Hashable], F64]


@dataclass
class CacheStats:
    computed: int = 0  # lines computed
    hits: int = 0  # reads answered by a line computed before


class FeatureCache:
    """``line(symbol, key)``: ``compute(bars[symbol], key)``, computed once per pair."""

    def __init__(self, bars: Mapping[str, BarSeries], compute: Compute) -> None:
        self._bars = bars
        self._compute = compute
        self._lines: dict[tuple[str, Hashable], F64] = {}
        self.stats = CacheStats()

    def line(self, symbol: str, key: Hashable) -> F64:
        got = self._lines.get((symbol, key))
        if got is not None:
            self.stats.hits += 1
            return got
        out = np.array(self._compute(self._bars[symbol], key), dtype=np.float64)
        out.flags.writeable = False  # shared by every point that reads it
        self._lines[(symbol, key)] = out
        self.stats.computed += 1
        return out

    def warm(self, keys: Iterable[Hashable]) -> None:
        """Compute every key on every instrument now (once each; cached ones are skipped)."""
        for key in dict.fromkeys(keys):
            for symbol in self._bars:
                if (symbol, key) not in self._lines:
                    self.line(symbol, key)

    def __len__(self) -> int:
        return len(self._lines)
